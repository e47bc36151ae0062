"""The voice check-in's error: a ClassifierError, so the CLI shows it as one line."""

from classifier.errors import ClassifierError


class VoiceError(ClassifierError):
    """Unusable audio, dataset or voice model; the message says what to do next."""
