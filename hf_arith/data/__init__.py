"""Arithmetic data: trace formats, the step-checking verifier, problem sampling and the `datasets` builder."""

from .builder import (
                      PRESETS,
                      ArithmeticTraces,
                      ArithmeticTracesConfig,
                      data_preset,
                      load_arithmetic_traces,
                      load_traces,
                      training_stream,
)
from .settings import ArithmeticDataSettings
from .traces import (
                      FORMATS,
                      OPERATIONS,
                      answer_string,
                      make_completion,
                      make_prompt,
                      make_trace,
                      max_completion_length,
                      parse_prompt,
                      read_answer,
)
from .verify import TraceVerdict, verify_trace

__all__ = ["FORMATS", "OPERATIONS", "PRESETS", "ArithmeticDataSettings", "ArithmeticTraces", "ArithmeticTracesConfig",
           "TraceVerdict", "answer_string", "data_preset", "load_arithmetic_traces", "load_traces", "make_completion",
           "make_prompt", "make_trace", "max_completion_length", "parse_prompt", "read_answer", "training_stream",
           "verify_trace"]
