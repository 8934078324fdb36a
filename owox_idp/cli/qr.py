"""QR codes for a terminal: two QR rows per text line with half-block characters.

Each character cell shows two modules, and the glyphs always draw the *dark* ones (`▀` top, `▄`
bottom, `█` both), as ink on paper: the same picture with colour and without. With colour, every line
sets an explicit black foreground and white background (256-colour palette entries 16 and 231, which
themes do not remap) and resets them at the end of the line, so the code is dark on light whatever the
terminal's theme. Without colour (NO_COLOR, or a terminal without it) nothing is added: the code is
never inverted, and it is dark on light on a light theme (a dark theme shows it in its own colours,
which phone cameras read too; the otpauth URI and the secret are printed below it in any case).

The code must fit the terminal it is printed on (80x24 at least): `fit_terminal` tries error
correction M with the quiet zone of 4 modules the QR specification asks for, then L, then smaller
quiet zones (2, then 1: enough on a screen, where nothing else is drawn around the code), and gives up
(None) rather than print a code that a terminal would wrap or cut: the caller then prints the URI and
a hint.
"""

from __future__ import annotations

QUIET_ZONE = 4
UPPER = "\u2580"  # ▀
LOWER = "\u2584"  # ▄
FULL = "\u2588"  # █
DARK_ON_LIGHT = "\x1b[38;5;16;48;5;231m"
RESET = "\x1b[0m"

# (error correction, quiet zone) from the best to the most compact
LADDER = (("M", 4), ("L", 4), ("M", 2), ("L", 2), ("L", 1))


def qr_matrix(data: str, *, error_correction: str = "M", quiet_zone: int = QUIET_ZONE) -> list[list[bool]]:
    """The modules of the QR code for `data` (True = dark), quiet zone included."""
    import qrcode
    from qrcode import constants

    level = {"L": constants.ERROR_CORRECT_L, "M": constants.ERROR_CORRECT_M}[error_correction]
    code = qrcode.QRCode(error_correction=level, box_size=1, border=quiet_zone)
    code.add_data(data)
    code.make(fit=True)
    return [[bool(module) for module in row] for row in code.get_matrix()]


def render_terminal(
    data: str, *, color: bool = True, error_correction: str = "M", quiet_zone: int = QUIET_ZONE
) -> str:
    """`data` as a QR code made of half-block characters, one text line per two module rows.

    The result has no trailing newline. The glyphs are the dark modules; with `color` (the default)
    each line also carries ANSI colours that make it dark on light on any terminal."""
    return _render(qr_matrix(data, error_correction=error_correction, quiet_zone=quiet_zone), color=color)


def fit_terminal(data: str, *, color: bool, columns: int, lines: int) -> str | None:
    """The best code for `data` (see LADDER) that is at most `columns` wide and `lines` high, quiet zone
    included; None when even the most compact one does not fit."""
    for error_correction, quiet_zone in LADDER:
        matrix = qr_matrix(data, error_correction=error_correction, quiet_zone=quiet_zone)
        if len(matrix[0]) <= columns and (len(matrix) + 1) // 2 <= lines:
            return _render(matrix, color=color)
    return None


def _render(matrix: list[list[bool]], *, color: bool) -> str:
    width = len(matrix[0])
    if len(matrix) % 2:
        matrix = [*matrix, [False] * width]  # one more row of quiet zone (light)
    glyphs = {(True, True): FULL, (True, False): UPPER, (False, True): LOWER, (False, False): " "}
    out: list[str] = []
    for top, bottom in zip(matrix[0::2], matrix[1::2], strict=True):
        line = "".join(glyphs[pair] for pair in zip(top, bottom, strict=True))
        out.append(f"{DARK_ON_LIGHT}{line}{RESET}" if color else line)
    return "\n".join(out)
