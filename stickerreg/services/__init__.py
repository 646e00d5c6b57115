"""Plain-Python services: they take a Session and plain values, never import Flask,
and never commit (the caller owns the transaction), except worker loops."""
