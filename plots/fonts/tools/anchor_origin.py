"""Adds to every simple glyph of a TrueType font a degenerate (zero-area, invisible) contour at
x = 0, so each glyph's pixel bounds start at its pen position.

Why: plotters 0.3.7's ab_glyph text renderer places each glyph's pixels relative to the glyph's
pixel bounds but drops the bounds' x offset (the left side bearing), so glyphs with a wide left
bearing ("1", "l") are drawn too far left and leave a gap after them ("100" reads "1 00"). With
the bounds anchored at x = 0 the dropped offset is 0 and spacing is the font's own.

Usage: python3 anchor_origin.py IN.ttf OUT.ttf   (needs fonttools)
"""
import sys
from fontTools.ttLib import TTFont

font = TTFont(sys.argv[1])
glyf = font["glyf"]
for name in font.getGlyphOrder():
    g = glyf[name]
    if g.isComposite() or g.numberOfContours <= 0:
        continue
    coords, ends, flags = g.getCoordinates(glyf)
    y = min(c[1] for c in coords)
    pts = list(coords) + [(0, y), (0, y), (0, y)]
    g.coordinates = type(coords)(pts)
    g.endPtsOfContours = list(ends) + [len(pts) - 1]
    g.flags = type(flags)(list(flags) + [1, 1, 1])
    g.numberOfContours += 1
    g.recalcBounds(glyf)
# Left side bearings follow the new bounds (xMin is now at most 0).
for name in font.getGlyphOrder():
    g = glyf[name]
    if hasattr(g, "xMin"):
        adv, _ = font["hmtx"][name]
        font["hmtx"][name] = (adv, g.xMin)
font.save(sys.argv[2])
