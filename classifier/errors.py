"""The root of every error the classifier package raises on bad input.

`classifier` cannot import `app`, so it has its own root; the CLI's error
boundary (`app.errors.to_user_error`) turns it into a one-line message.
"""


class ClassifierError(Exception):
    """Bad EEG input, a model that cannot be used, or a stream that cannot be read.

    The message says what is wrong and where, and what to do next.
    """
