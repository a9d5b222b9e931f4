"""The release-side canary: candidate against release in the twin, on Ray (optional)."""
