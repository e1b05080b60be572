"""Tests of the SEMS Local Solar integration and its plantkit library."""
