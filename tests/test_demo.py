"""The Gradio calculator: its logic on its own, and the page driven in headless Chromium as a person would use it.

The browser test needs Debian's chromium and the playwright package (both installed by .ci/run); the screenshot it
takes is the README's (set HF_ARITH_DEMO_SCREENSHOT to keep it).
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager

import pytest

from hf_arith.cli import main
from hf_arith.data.traces import make_trace
from hf_arith.data.verify import verify_trace
from hf_arith.demo import _trace_spans

from .tiny import TINY

# 3-digit addition, small and quick (about 10 s): the demo's examples are 3-digit problems.
TINY3 = [*TINY, "--max_digits", "3", "--train_size", "20000", "--max_steps", "1200", "--n_embd", "96",
         "--suites", "test,uniform"]


@pytest.fixture(scope="module")
def add3(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "add3"
    assert main(["train", *TINY3, "--output_dir", str(out), "--data_cache_dir",
                 str(tmp_path_factory.mktemp("cache"))]) == 0
    return out


@pytest.fixture(scope="module")
def demo(add3):
    from hf_arith.demo import Demo

    return Demo(str(add3))


def test_solve_shows_the_models_answer_pythons_and_the_trace(demo):
    solved = demo.solve("123+456")
    assert solved.python == "579" and solved.answer == "579" and solved.right and solved.message == "right"
    ((prompt, _), *trace), ((check, _), *check_trace) = solved.steps  # the sum and the model's check of it
    assert prompt == "123+456=" and "".join(text for text, _ in trace) == "9750"  # reversed, zero-padded answer
    assert check == "check: 456+123=" and "".join(text for text, _ in check_trace) == "9750"
    assert all(label == "ok" for _, label in trace + check_trace)
    tokens = [token for token, _ in solved.confidence[1:6]]
    assert solved.confidence[0] == (" step 1: ", None) and solved.confidence[6] == (" check of step 1: ", None)
    assert tokens == ["9", "7", "5", "0", "<eos>"] and all(0 < p <= 1 for _, p in solved.confidence[1:6])


@pytest.mark.parametrize("a, op, b, fmt", [(345, "+", 678, "cot"), (807, "*", 214, "cot"), (345, "/", 7, "cot"),
                                            (345, "-", 678, "cot"), (45, "-", 7, "cot_sub_sign"),
                                            (386, "*", 273, "reverse_cot"), (12, "+", 3, "reversed")])
def test_the_highlighted_trace_has_verify_traces_steps_and_marks_the_wrong_one(a, op, b, fmt):
    prompt, completion = make_trace(a, op, b, fmt)
    spans = _trace_spans(completion, op, verify_trace(prompt, completion, fmt))
    assert "".join(text for text, _ in spans) == completion
    assert len(spans) == verify_trace(prompt, completion, fmt).num_steps and all(lab == "ok" for _, lab in spans)
    # change one digit of the second-to-last step: that step is marked, the ones before stay ok, none after is
    target = max(len(spans) - 2, 0)
    position = len("".join(text for text, _ in spans[:target]))
    position += next(i for i, ch in enumerate(spans[target][0]) if ch.isdigit())
    wrong = completion[:position] + str((int(completion[position]) + 1) % 10) + completion[position + 1:]
    verdict = verify_trace(prompt, wrong, fmt)
    labels = [label for _, label in _trace_spans(wrong, op, verdict)]
    if not verdict.valid:
        assert labels[verdict.first_error_step] == "first wrong step"
        assert set(labels[:verdict.first_error_step]) <= {"ok"} and set(labels[verdict.first_error_step + 1:]) <= {None}


def test_expressions_and_bad_input_give_messages_not_tracebacks(demo):
    two_steps = demo.solve("(12+34)+56")
    assert two_steps.python == "102" and len(two_steps.steps) == 4  # two steps, each with its check
    for bad, fragment in [("12+x", "character 'x'"), ("12*3", "trained on '+' only"), ("1234+1", "4 digits")]:
        solved = demo.solve(bad)
        assert solved.message.startswith(f"Cannot compute {bad!r}") and fragment in solved.message
        assert solved.answer == "" and solved.steps == []


def test_many_problems_at_once(demo):
    rows, summary = demo.solve_many("1+2\n999+1\n\n12*3\n40+2")
    assert [row[0] for row in rows] == ["1+2", "999+1", "12*3", "40+2"]
    assert [row[2] for row in rows] == ["3", "1000", "", "42"]
    assert rows[2][3].startswith("not computed")
    right = sum(row[3] == "right" for row in rows)
    assert summary.startswith(f"{right} of 3 right") and summary.endswith("1 not computed")


def test_an_expression_beyond_the_limits_is_a_message_and_the_other_lines_are_answered(demo):
    huge = "+".join(["1"] + ["0"] * 1000)
    solved = demo.solve(huge)
    assert solved.message.startswith("Cannot compute") and "at most 500" in solved.message
    rows, summary = demo.solve_many(f"1+2\n{huge}\n40+2\n{'-' * 3000}1")
    assert [row[2] for row in rows] == ["3", "", "42", ""]
    assert rows[1][3].startswith("not computed") and "at most 500" in rows[1][3]
    assert rows[3][3].startswith("not computed") and summary.endswith("2 not computed")


def test_a_folder_that_is_not_an_hf_arith_model_is_refused_at_start(tmp_path, capsys):
    (tmp_path / "config.json").write_text('{"model_type": "gpt2"}')
    assert main(["demo", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "is not an hf_arith model" in err and len(err.splitlines()) == 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def demo_server(folder):
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    folder_args = [] if folder is None else [str(folder)]  # None: the calculator shipped with hf_arith
    process = subprocess.Popen([sys.executable, "-m", "hf_arith.cli", "demo", *folder_args, "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if process.poll() is not None:
                pytest.fail(f"the demo exited: {process.stdout.read().decode()[-2000:]}")
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("the demo did not start within 120 s")
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def server(add3):
    with demo_server(add3) as url:
        yield url


@contextmanager
def browser_page():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            yield browser.new_page(viewport={"width": 1200, "height": 1100})
        finally:
            browser.close()


def read_value(page, selector: str, expected: str | None = None, timeout: float = 60.0) -> str:
    """A Gradio output Textbox is a <textarea>: its text is its value, not its innerText."""
    deadline = time.time() + timeout
    value = ""
    while time.time() < deadline:
        value = page.locator(f"{selector} textarea").first.input_value()
        if value and (expected is None or expected in value):
            return value
        time.sleep(0.2)
    return value


def ask(page, problem: str, tries: int = 3) -> str:
    """Types `problem` into the page's box and presses Enter until an answer shows. An Enter pressed before the page's
    scripts are ready is lost (seen on the floor's Gradio 6.0.0, in 1 of 2 CI passes): submitting again is what a
    person does."""
    page.wait_for_load_state("networkidle")
    box = page.locator("#problem textarea").first
    for _ in range(tries):
        box.fill(problem)
        box.press("Enter")
        answer = read_value(page, "#answer", timeout=20)
        if answer:
            return answer
    return ""


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_the_page_in_a_real_browser(server, tmp_path):
    with browser_page() as page:
        page.goto(server)
        assert ask(page, "123+456") == "579"
        assert read_value(page, "#python") == "579"
        assert read_value(page, "#message") == "right"
        page.wait_for_timeout(500)
        screenshot = os.environ.get("HF_ARITH_DEMO_SCREENSHOT", str(tmp_path / "demo.png"))
        page.screenshot(path=screenshot, full_page=True)
        page.locator("#problem textarea").first.fill("12+x")
        page.locator("#compute").first.click()
        message = read_value(page, "#message", "Cannot compute")
        assert "Cannot compute '12+x'" in message and "Traceback" not in page.content()
    assert open(screenshot, "rb").read(4) == b"\x89PNG"


@pytest.fixture(scope="module")
def unsure(tmp_path_factory):
    """The TINY3 run stopped at 150 steps: its answers mix sure tokens (EOS) with unsure ones."""
    out = tmp_path_factory.mktemp("demo") / "unsure"
    assert main(["train", *TINY3, "--max_steps", "150", "--warmup_steps", "10", "--suites", "test", "--output_dir",
                 str(out), "--data_cache_dir", str(tmp_path_factory.mktemp("cache"))]) == 0
    return out


def test_the_confidence_view_paints_doubt_and_leaves_sure_tokens_plain():
    from hf_arith.demo import confidence_spans

    spans = confidence_spans([(" step 1: ", None), ("3", 0.999), ("0", 0.2), ("0", 0.6), ("0", 0.95), ("0", 0.99)])
    assert [label for _, label in spans] == [None, None, "p < 50 %", "50 % ≤ p < 90 %", "90 % ≤ p < 99 %", None]


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_in_the_browser_a_token_the_model_was_unsure_of_stands_out_from_a_sure_one(unsure):
    from hf_arith.demo import Demo

    demo = Demo(str(unsure))  # the probabilities, computed here, that the page must show
    for problem in [f"{a}+{b}" for a in (1, 12, 123, 999, 500) for b in (2, 34, 456, 1)]:
        # every span the page shows, in order: a step's name (p None), then its tokens; the checks' steps too
        spans = demo.solve(problem).confidence
        tokens = [(token, p) for token, p in spans if p is not None]
        if any(p >= 0.99 for _, p in tokens) and any(p < 0.5 for _, p in tokens):
            break
    else:
        pytest.fail("the 150-step model was sure of every token or of none")
    with demo_server(unsure) as url, browser_page() as page:
        page.goto(url)
        assert ask(page, problem)
        shown = page.locator("#confidence .textfield > span")  # one per token, in every Gradio 6 release
        deadline = time.time() + 60
        while shown.count() < len(spans) and time.time() < deadline:
            time.sleep(0.2)
        # a token's colour is on the span or on one inside it, depending on the Gradio release
        painted = shown.evaluate_all("""els => els.map(e => [e.innerText.trim(), [e, ...e.querySelectorAll('*')]
            .map(x => getComputedStyle(x).backgroundColor).find(c => c !== 'rgba(0, 0, 0, 0)') || 'none'])""")
        legend = page.locator("#confidence [data-testid='highlighted-text:category-legend']").first.inner_text()
    assert [text for text, _ in painted] == [token.strip() for token, _ in spans]
    assert painted[0][0] == "step 1:"
    for (token, p), (_, colour) in zip(spans, painted):
        if p is None or p >= 0.99:  # a step's name (a check's too) and a sure token: no highlight
            assert colour == "none", (token, p, colour)
        elif p < 0.5:
            assert "229, 57, 53" in colour, (token, p, colour)  # the p < 50 % band's red (#e53935)
    assert "p < 50 %" in legend and "90 % ≤ p < 99 %" in legend


def test_the_confidence_view_shows_what_generate_wrote_even_tokens_no_trace_holds(add3):
    import torch

    from hf_arith.demo import Demo

    demo = Demo(str(add3))
    zero, pair = demo.tokenizer.convert_tokens_to_ids(["0", "3|5"])
    with torch.no_grad():  # a pair token the model now prefers wherever it would write "0" (tied output embeddings)
        demo.model.get_input_embeddings().weight[pair] = 3 * demo.model.get_input_embeddings().weight[zero]
    for problem in ("123+456", "500+500"):
        solved = demo.solve(problem)
        steps = demo.calculator.run([problem])[0].steps
        assert "3|5" in steps[0].completion  # a completion that encoding it as a string again would refuse
        assert solved.answer == "?" and "vocabulary" not in solved.message
        shown = [token for token, p in solved.confidence if p is not None]
        assert "3|5" in shown and shown[: len(steps[0].confidence)] == [t for t, _ in steps[0].confidence]
        assert all(0 < p <= 1 for _, p in solved.confidence if p is not None)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_the_shipped_calculator_in_a_real_browser_with_long_operands():
    with demo_server(None) as url, browser_page() as page:
        page.goto(url)
        assert ask(page, "(999*999)+1") == "998002"
        assert read_value(page, "#message") == "right"
        a, b = 98765432109876543210987654321, 12345678901234567890123456789
        page.locator("#problem textarea").first.fill(f"{a}+{b}")
        page.locator("#compute").first.click()
        assert read_value(page, "#answer", str(a + b)) == str(a + b)
        assert "the calculator shipped with hf_arith" in page.content()
