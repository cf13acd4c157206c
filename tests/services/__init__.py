"""Tests of the statutory-services analysis: taxonomy, assignment, continuity, exit scenarios, subcontracting."""
