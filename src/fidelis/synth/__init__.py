"""Synthetic cross-border shop data with a known ground truth (`fidelis synth`)."""

from fidelis.synth.generator import DEFAULT_END, DEFAULT_START, SynthResult, generate
from fidelis.synth.params import SynthParams

__all__ = ["DEFAULT_END", "DEFAULT_START", "SynthParams", "SynthResult", "generate"]
