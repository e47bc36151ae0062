"""The store: SQLAlchemy models, opening and migrating, and repository functions.

No UI imports here: the CLI and the jobs call into this package, never back.
"""
