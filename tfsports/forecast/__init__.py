"""Trajectory forecasting and gap filling (issue 10): so far the data layer."""
