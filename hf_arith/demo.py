"""A Gradio calculator for a trained hf_arith model or calculator folder: `hf-arith demo [MODEL_DIR] [--port N]`
(without a folder: the calculator shipped with hf_arith).

Type a problem or an expression; see the model's answer beside Python's, every step the model generated (and the steps
by which it checked each answer: the calculator answers only what the model's checks confirm) with `verify_trace`'s
verdict (the first wrong step marked), and how sure the model was of each token. A second tab takes
many problems at once and shows which are right. The same file is a Hugging Face Space's `app.py` when it sits
next to a model folder: `MODEL_DIR` (default ".") names the folder, hf_arith must be installed.
"""

import os
import sys
from dataclasses import dataclass

from .calculator import Calculator, StepError, exact_value, parse_expression, step_name
from .data.verify import read_steps
from .loading import SHIPPED_CALCULATOR, load_calculator_folder

EXAMPLES = {"+": ["123+456", "999+1", "(12+34)+56"], "-": ["345-678", "1000-1", "-5+3"],
            "*": ["123*45", "99*99", "12+34*5"], "/": ["345/7", "999/1", "100/7*2"]}


@dataclass
class Solved:
    answer: str  # the model's answer, '?' when it gave none
    python: str  # Python's answer under the calculator's rules
    right: bool
    steps: list[list[tuple[str, str | None]]]  # per step: (text, label) spans for the highlighted trace
    confidence: list[tuple[str, float | None]]  # per generated token: (token, probability); a step's name: None
    message: str  # one line on what happened


class Demo:
    """The calculator behind the page (no Gradio here, so it is tested on its own)."""

    def __init__(self, model_dir: str | None = None):
        self.model_dir = SHIPPED_CALCULATOR if model_dir is None else model_dir
        # ValueError for anything that is not a consistent hf_arith arithmetic model or calculator folder
        experts = load_calculator_folder(self.model_dir)
        # the probabilities come from the generation itself (never from encoding what the model wrote once more)
        self.calculator = Calculator(experts=experts, confidence=True)
        self.model, self.tokenizer = experts[0].model, experts[0].tokenizer  # the first (for one model: the model)
        operations = self.calculator.operations
        self.examples = [e for op in operations for e in EXAMPLES[op]
                         if all(o in operations for o in "+-*/" if o in e.lstrip("-"))]
        if self.calculator.skills.limit("+") >= 20 and "*" in operations:
            self.examples.insert(0, "(999*999)+1")
        if self.calculator.skills.limit("+") >= 20:
            self.examples.insert(1, "98765432109876543210+12345678901234567890")

    def describe(self) -> str:
        """What each model of the calculator computes, and up to how many digits."""
        return "; ".join(f"`{e.name}`: `{e.operations}` on operands of up to {e.max_digits} digits (`{e.format}`)"
                         for e in self.calculator.experts)

    def solve(self, text: str) -> Solved:
        try:
            python = exact_value(parse_expression(text))
            self.calculator.check(text)
        except ValueError as error:  # StepError included: a step that cannot be taken even in Python
            return Solved("", "", False, [], [], f"Cannot compute {text.strip()!r}: {error}")
        python = f"{python[0]}r{python[1]}" if isinstance(python, tuple) else str(python)
        (result,) = self.calculator.run([text])
        steps, confidence, number = [], [], 0
        for step in result.steps:
            number += step.check_of is None and step.look_of is None
            name = step_name(step, number).strip()
            verdict = step.verdict
            if verdict is None:  # a step the model could not take: not run
                steps.append([(f"{step.a}{step.op}{step.b}=", "not run")])
                continue
            # a check (the model computing its answer back) and a second look are shown like a step, named so
            label = "check: " if step.check_of is not None else "second look: " if step.look_of is not None else ""
            spans = [(label + step.prompt, None)]
            steps.append(spans + _trace_spans(step.completion, step.op, verdict))
            confidence += [(f" {name}: ", None)] + (step.confidence or [])
        answer = result.answer if result.answer is not None else "?"
        message = (result.error or ("right" if answer == python else f"wrong: Python says {python}"))
        return Solved(answer, python, answer == python, steps, confidence, message)

    def solve_many(self, text: str) -> tuple[list[list[str]], str]:
        """One problem per line -> table rows (problem, model, Python, right?) and a line with the accuracy."""
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if not lines:
            return [], "No problems: type one per line."
        rows, checked = [], []
        for line in lines:
            try:
                python = exact_value(parse_expression(line))
                self.calculator.check(line)
                checked.append(line)
                rows.append([line, "", f"{python[0]}r{python[1]}" if isinstance(python, tuple) else str(python), ""])
            except (ValueError, StepError) as error:
                rows.append([line, "", "", f"not computed: {error}"])
        results = iter(self.calculator.run(checked)) if checked else iter(())
        for row in rows:
            if not row[3]:
                result = next(results)
                row[1] = result.answer if result.answer is not None else "?"
                row[3] = ("no answer: its check failed" if result.refused else "right" if row[1] == row[2]
                          else "wrong")
        scored = [r for r in rows if r[3] in ("right", "wrong") or r[3].startswith("no answer")]
        right = sum(r[3] == "right" for r in scored)
        refused = sum(r[3].startswith("no answer") for r in scored)
        summary = (f"{right} of {len(scored)} right ({100 * right / len(scored):.2f} %)" if scored
                   else "Nothing could be computed.")
        summary += f"; {refused} with no answer (the model's check failed)" if refused else ""
        return rows, summary + (f"; {len(rows) - len(scored)} not computed" if len(rows) > len(scored) else "")

    def heatmap(self) -> str | None:
        for name in ("heatmap_full_width.png", "heatmap_uniform.png", "heatmap_test.png"):
            for folder in [self.model_dir] + [os.path.join(self.model_dir, e.name) for e in self.calculator.experts]:
                path = os.path.join(folder, name)
                if os.path.isfile(path):
                    return path
        return None


def _trace_spans(completion: str, op: str, verdict) -> list[tuple[str, str | None]]:
    """The completion cut into the steps verify_trace counts (its own `read_steps`, each step keeping the separator
    that follows it), each labelled right or first wrong step, for the highlighted trace."""
    pieces, position = [], 0
    for step in read_steps(completion, op, verdict.format):
        end = position + len(step)
        if end < len(completion) and completion[end] in ";+=":
            end += 1  # the separator read_steps dropped (the sign of cot_sub_sign has none after it)
        pieces.append(completion[position:end])
        position = end
    pieces[-1] += completion[position:]
    wrong = verdict.first_error_step
    labels = ["ok" if wrong is None or i < wrong else ("first wrong step" if i == wrong else None)
              for i in range(len(pieces))]
    if wrong is not None and wrong >= len(pieces):
        labels[-1] = "first wrong step"
    return list(zip(pieces, labels))


# How the confidence view paints a token: a token the model was sure of (p >= 99 %) is plain text, and the less sure it
# was, the stronger the colour, so doubt is what stands out (a plain float score would paint every sure token red).
CONFIDENCE_BANDS = ((0.5, "p < 50 %", "#e53935"), (0.9, "50 % ≤ p < 90 %", "#fb8c00"),
                    (0.99, "90 % ≤ p < 99 %", "#fdd835"))


def confidence_spans(confidence: list[tuple[str, float | None]]) -> list[tuple[str, str | None]]:
    """(token, probability) -> (token, band label) for gr.HighlightedText: None (plain) for p >= 99 % and step names."""
    spans = []
    for token, p in confidence:
        label = None if p is None else next((name for limit, name, _ in CONFIDENCE_BANDS if p < limit), None)
        spans.append((token, label))
    return spans


def build_app(demo: Demo):
    import gradio as gr

    def one(text):
        solved = demo.solve(text)
        trace = [span for step in solved.steps for span in step + [("\n", None)]]
        return solved.answer, solved.python, solved.message, trace, confidence_spans(solved.confidence)

    def many(text):
        rows, summary = demo.solve_many(text)
        return rows, summary

    with gr.Blocks(title="hf_arith calculator") as app:
        shipped = demo.model_dir == SHIPPED_CALCULATOR
        shown = "the calculator shipped with hf_arith" if shipped else f"`{demo.model_dir}`"
        gr.Markdown(f"## hf_arith calculator\n{shown}: {demo.describe()}. Expressions with + - * / and parentheses "
                    "are computed step by step by the models; each answer is checked by them.")
        with gr.Tab("Calculator"):
            with gr.Row():
                problem = gr.Textbox(label="Problem or expression", placeholder=", ".join(demo.examples[:3]),
                                     elem_id="problem")
                compute = gr.Button("Compute", variant="primary", elem_id="compute")
            with gr.Row():
                answer = gr.Textbox(label="Model's answer", elem_id="answer", interactive=False)
                python = gr.Textbox(label="Python's answer", elem_id="python", interactive=False)
            message = gr.Textbox(label="Verdict", elem_id="message", interactive=False)
            trace = gr.HighlightedText(label="Trace (verify_trace: steps before the first wrong one are ok)",
                                       color_map={"ok": "green", "first wrong step": "red", "not run": "gray"},
                                       elem_id="trace")
            confidence = gr.HighlightedText(
                label="How sure the model was of each token it generated: plain is p ≥ 99 %, colour marks doubt",
                color_map={name: colour for _, name, colour in CONFIDENCE_BANDS}, show_legend=True,
                elem_id="confidence")
            gr.Examples(demo.examples, inputs=problem)
            outputs = [answer, python, message, trace, confidence]
            problem.submit(one, problem, outputs)
            compute.click(one, problem, outputs)
        with gr.Tab("Many problems"):
            problems = gr.Textbox(label="One problem per line", lines=8, elem_id="problems")
            check = gr.Button("Check all", elem_id="check")
            table = gr.Dataframe(headers=["problem", "model", "Python", "result"], elem_id="table")
            summary = gr.Textbox(label="Accuracy", elem_id="summary", interactive=False)
            check.click(many, problems, [table, summary])
        heatmap = demo.heatmap()
        if heatmap:
            with gr.Tab("Model card heatmap"):
                gr.Image(heatmap, label=os.path.basename(heatmap), show_label=True)
    return app


def main(model_dir: str | None, port: int | None = None) -> None:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # nothing leaves the machine
    app = build_app(Demo(model_dir))
    app.launch(server_name="127.0.0.1", server_port=port, show_error=False)


if __name__ == "__main__":  # as a Space's app.py: MODEL_DIR or the folder next to this file
    try:
        main(os.environ.get("MODEL_DIR", "."), int(os.environ["PORT"]) if "PORT" in os.environ else None)
    except ValueError as error:
        print(f"demo: error: {error}", file=sys.stderr)
        sys.exit(2)
