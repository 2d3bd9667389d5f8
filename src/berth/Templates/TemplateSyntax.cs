namespace Berth.Cli.Templates;

// The parsed form of a Go text/template, as far as docker's --format uses it: text, actions with
// pipelines, if / else if / else, range (with $i, $v :=), with, variables and comments.

internal abstract record Node;
internal sealed record TextNode(string Text) : Node;
internal sealed record ActionNode(Pipeline Pipe, string Source) : Node;
/// <summary>if, range and with: a pipeline, a body, and what runs when the value is empty.</summary>
internal sealed record ControlNode(string Keyword, Pipeline Pipe, List<Node> Body, List<Node>? Else, string Source) : Node;

/// <summary><c>$a, $b := cmd | cmd</c>; <c>Assign</c> for <c>=</c> (an existing variable), else a declaration.</summary>
internal sealed record Pipeline(List<string> Variables, bool Assign, List<Command> Commands);
internal sealed record Command(List<Operand> Operands);

internal abstract record Operand;
/// <summary>A function name: <c>len</c>, <c>json</c>, <c>eq</c> ...</summary>
internal sealed record FunctionOperand(string Name) : Operand;
/// <summary><c>.</c> or <c>.A.B</c>: fields of the current value.</summary>
internal sealed record FieldOperand(string[] Fields) : Operand;
/// <summary><c>$</c>, <c>$x</c>, <c>$x.A.B</c>.</summary>
internal sealed record VariableOperand(string Name, string[] Fields) : Operand;
internal sealed record LiteralOperand(object? Value) : Operand;
/// <summary><c>(pipeline).A.B</c>.</summary>
internal sealed record SubPipelineOperand(Pipeline Pipe, string[] Fields) : Operand;
