"""Plant simulator: realistic devices of every supported vendor on loopback (tests, benchmarks, demo).

Not shipped inside the component.
"""
