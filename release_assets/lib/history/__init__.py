"""Release history: change volume per release (git), release events between refreshes, and
time to release."""
