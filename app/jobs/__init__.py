"""Orchestration of emotune's jobs: each module reads top to bottom.

listen: source -> windows -> predictor -> store; sync/sort/queue: tags -> plan -> apply.
"""
