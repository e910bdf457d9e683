"""Paper out (weekly bulletins with return slips) and paper in (scanning returned slips).

Import from here as ``from print.bulletin import ...``: a bare ``import print.x``
would rebind the builtin ``print`` in the importing module.
"""
