"""Plant simulator: realistic GoodWe, SunSpec and Eastron devices on loopback (tests, benchmarks, demo).

Not shipped inside the component.
"""
