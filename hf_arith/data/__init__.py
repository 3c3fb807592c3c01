"""Arithmetic data: trace formats, the step-checking verifier, problem sampling and the `datasets` builder."""

from .builder import (PRESETS, ArithmeticTraces, ArithmeticTracesConfig, get_config, load_arithmetic_traces,
                      training_stream)
from .traces import FORMATS, OPERATIONS, answer_string, make_completion, make_prompt, make_trace
from .verify import TraceVerdict, verify_trace

__all__ = ["FORMATS", "OPERATIONS", "PRESETS", "ArithmeticTraces", "ArithmeticTracesConfig", "TraceVerdict",
           "answer_string", "get_config", "load_arithmetic_traces", "make_completion", "make_prompt", "make_trace",
           "training_stream", "verify_trace"]
