"""QR codes for a terminal: two QR rows per text line with half-block characters.

Each character cell shows two modules: the foreground draws the dark ones (`▀` top, `▄` bottom, `█`
both) and the background is light, so the code is dark on light whatever the terminal's theme is.
With colour, every line sets an explicit black foreground and white background (256-colour palette
entries 16 and 231, which themes do not remap) and resets them at the end of the line. Without colour
(NO_COLOR) the glyphs draw the *light* modules, which reads correctly on the usual light-on-dark
terminal (phone cameras also read the inverted code a light theme gives).

A quiet zone of 4 modules surrounds the code, as the QR specification asks.
"""

from __future__ import annotations

QUIET_ZONE = 4
UPPER = "\u2580"  # ▀
LOWER = "\u2584"  # ▄
FULL = "\u2588"  # █
DARK_ON_LIGHT = "\x1b[38;5;16;48;5;231m"
RESET = "\x1b[0m"


def qr_matrix(data: str) -> list[list[bool]]:
    """The modules of the QR code for `data` (True = dark), quiet zone included."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=1, border=QUIET_ZONE)
    code.add_data(data)
    code.make(fit=True)
    return [[bool(module) for module in row] for row in code.get_matrix()]


def render_terminal(data: str, *, color: bool = True) -> str:
    """`data` as a QR code made of half-block characters, one text line per two module rows.

    The result has no trailing newline. With `color` (the default) it carries ANSI colours and is dark
    on light on any terminal; without, the glyphs are the light modules (for light-on-dark terminals).
    """
    matrix = qr_matrix(data)
    width = len(matrix[0])
    if len(matrix) % 2:
        matrix.append([False] * width)  # one more row of quiet zone (light)
    lines: list[str] = []
    for top, bottom in zip(matrix[0::2], matrix[1::2], strict=True):
        cells: list[str] = []
        for upper, lower in zip(top, bottom, strict=True):
            if not color:  # glyphs draw the light modules
                upper, lower = not upper, not lower
            if upper and lower:
                cells.append(FULL)
            elif upper:
                cells.append(UPPER)
            elif lower:
                cells.append(LOWER)
            else:
                cells.append(" ")
        line = "".join(cells)
        lines.append(f"{DARK_ON_LIGHT}{line}{RESET}" if color else line)
    return "\n".join(lines)
