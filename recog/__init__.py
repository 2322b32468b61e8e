"""recog: stacked bidirectional recurrent encoders trained with CTC, for speech and handwriting."""

__version__ = "0.1.0"
