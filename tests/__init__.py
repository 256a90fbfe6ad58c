"""orchestra's test suite (`python3 -m tests`, or `python3 -m unittest tests.test_x`)."""

import os

# Loaded before any test module, by the runner's workers and by plain unittest alike: no
# orchestra a test runs, in-process or as a child, adds its throw-away project to the real
# user's workspaces registry. The tests of the registry pass their own environment.
os.environ["ORCHESTRA_NO_REGISTER"] = "1"
