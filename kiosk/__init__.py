"""The lost-and-found kiosk blueprint (pairing, scan screen, hand-in, receipt).

Built in the kiosk issue; the package exists so the house layout is in place.
"""
