"""A model-based differential test of the REST API (test_rest_model.py).

The Tester (runner.py) is put together from mixins, one file a concern:
model.py holds what the contract says the state is, checker.py the server
under test and the checks every answer goes through, the ops_*.py files the
random operations and the answers they must get, live.py the /ws frames
those operations must cause, durability.py the restarts and full
comparisons, and concurrent.py, races.py, crash.py and limits.py the phases
that follow the sequence.
"""
