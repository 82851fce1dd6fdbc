"""Inference engines behind one protocol (`engine.base.Engine`) and the model catalogue."""
