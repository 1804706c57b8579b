"""Serving in NumPy alone: web processes use this, never TensorFlow."""
