"""A turn made into a backend-neutral span tree, priced."""
