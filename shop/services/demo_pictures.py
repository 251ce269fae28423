"""The demo catalogue's product pictures: each kind of product drawn in its colour on a soft background.

A kind's shapes are drawn once, at twice the size, into one grayscale mask per colour role (the
product's colour, its shade, a detail ink, or a fixed colour such as a white sole); halving a mask
smooths its edges. Each picture then only pastes its colours through the cached masks and is
stored as a JPEG of under 20 kB.
"""
import io
from collections.abc import Callable
from functools import cache

from PIL import Image, ImageDraw

SIZE = 600
SCALE = 2  # the masks are drawn at twice the size and halved, for smooth edges
VIEWS = ("front", "detail")  # the product whole, then a close-up on a background of its own colour
FRONT_BACKGROUND = (244, 241, 236)
FLOOR = (226, 221, 212)

# Colours that stay whatever the product's colour.
WHITE = (250, 250, 247)
RUBBER = (58, 58, 62)
STEEL = (192, 198, 204)
WOOD = (190, 146, 98)
FLAME = (242, 150, 44)
GLASS = (255, 232, 160)

Rgb = tuple[int, int, int]
Role = str | Rgb  # "body", "shade", "light" or "ink" follow the product's colour; an Rgb is fixed


class Pen:
    """Draws a kind's shapes on a 600 x 600 grid into one mask per role, in the order they are drawn."""

    def __init__(self) -> None:
        self.layers: list[tuple[Role, Image.Image]] = []

    def on(self, role: Role) -> "Layer":
        """Return a new layer for the role, painted over everything drawn before it."""
        mask = Image.new("L", (SIZE * SCALE, SIZE * SCALE), 0)
        self.layers.append((role, mask))
        return Layer(ImageDraw.Draw(mask))


class Layer:
    """One role's mask, drawn with coordinates on the 600 x 600 grid."""

    def __init__(self, draw: ImageDraw.ImageDraw) -> None:
        self.draw = draw

    @staticmethod
    def _box(box):
        return [value * SCALE for value in box]

    def poly(self, points) -> "Layer":
        self.draw.polygon([(x * SCALE, y * SCALE) for x, y in points], fill=255)
        return self

    def rect(self, box, radius: int = 0) -> "Layer":
        self.draw.rounded_rectangle(self._box(box), radius=radius * SCALE, fill=255)
        return self

    def oval(self, box) -> "Layer":
        self.draw.ellipse(self._box(box), fill=255)
        return self

    def chord(self, box, start: int, end: int) -> "Layer":
        self.draw.chord(self._box(box), start, end, fill=255)
        return self

    def line(self, points, width: int = 6) -> "Layer":
        self.draw.line([(x * SCALE, y * SCALE) for x, y in points], fill=255, width=width * SCALE, joint="curve")
        return self

    def arc(self, box, start: int, end: int, width: int = 6) -> "Layer":
        self.draw.arc(self._box(box), start, end, fill=255, width=width * SCALE)
        return self


def _floor(pen: Pen, left: int = 110, right: int = 490, y: int = 500) -> None:
    pen.on(FLOOR).oval((left, y - 22, right, y + 22))


# --- Clothing ---------------------------------------------------------------------------------

TEE = [(228, 118), (372, 118), (468, 165), (522, 258), (446, 296), (420, 258), (420, 498), (180, 498),
       (180, 258), (154, 296), (78, 258), (132, 165)]
LONG_SLEEVES = [(228, 112), (372, 112), (452, 156), (494, 296), (522, 468), (470, 480), (440, 318), (420, 292),
                (420, 498), (180, 498), (180, 292), (160, 318), (130, 480), (78, 468), (106, 296), (148, 156)]


def _tee(pen: Pen, neck: str = "crew", pocket: bool = False) -> None:
    _floor(pen, 150, 450, 512)
    pen.on("body").poly(TEE)
    if neck == "v":
        pen.on("shade").poly([(256, 118), (344, 118), (300, 190)])
        pen.on("ink").line([(252, 118), (300, 192), (348, 118)], 7)
    else:
        pen.on("shade").chord((256, 92, 344, 156), 0, 180)
        pen.on("ink").arc((250, 86, 350, 162), 0, 180, 8)
    hems = pen.on("ink").line([(182, 484), (418, 484)], 4)
    hems.line([(150, 282), (84, 250)], 4).line([(450, 282), (516, 250)], 4)
    if pocket:
        pen.on("shade").rect((326, 212, 386, 276), 6)
        pen.on("ink").line([(326, 224), (386, 224)], 4)


def _sweater(pen: Pen, style: str = "crew") -> None:
    _floor(pen, 110, 490, 512)
    if style == "hood":
        pen.on("shade").oval((222, 56, 378, 196))
    pen.on("body").poly(LONG_SLEEVES)
    cuffs = pen.on("shade").rect((180, 468, 420, 498), 4)
    cuffs.poly([(130, 480), (78, 468), (83, 440), (134, 452)]).poly([(470, 480), (522, 468), (517, 440), (466, 452)])
    if style == "cardigan":
        pen.on("shade").poly([(250, 112), (350, 112), (300, 230)])
        buttons = pen.on("ink").line([(300, 230), (300, 498)], 5)
        for y in (262, 318, 374, 430):
            buttons.oval((290, y - 10, 310, y + 10))
    elif style == "hood":
        pen.on("ink").chord((250, 86, 350, 176), 0, 180)
        pen.on("shade").poly([(226, 372), (374, 372), (396, 452), (204, 452)])
        pen.on("ink").line([(284, 150), (280, 236)], 4).line([(316, 150), (320, 236)], 4)
    else:
        pen.on("shade").chord((254, 88, 346, 158), 0, 180)
        pen.on("ink").arc((248, 82, 352, 164), 0, 180, 9)
    ribs = pen.on("ink")
    for x in range(196, 420, 22):
        ribs.line([(x, 472), (x, 494)], 3)


def _jacket(pen: Pen, style: str) -> None:
    _floor(pen, 110, 490, 512)
    if style == "rain":
        pen.on("shade").oval((214, 50, 386, 200))
    pen.on("body").poly(LONG_SLEEVES)
    if style == "down":
        quilting = pen.on("shade")
        for y in (176, 236, 296, 356, 416):
            quilting.line([(180, y), (420, y)], 5)
        # Across each sleeve, from its outer edge to its inner one (the sleeves widen downwards).
        for outer, inner, y in ((130, 178, 236), (110, 158, 316), (97, 144, 396)):
            quilting.line([(outer, y), (inner, y - 6)], 5).line([(SIZE - inner, y - 6), (SIZE - outer, y)], 5)
    elif style == "field":
        pockets = pen.on("shade")
        for left, top in ((200, 200), (320, 200), (196, 340), (324, 340)):
            pockets.rect((left, top, left + 80, top + (60 if top < 300 else 90)), 6)
        flaps = pen.on("ink")
        for left, top in ((200, 200), (320, 200), (196, 340), (324, 340)):
            flaps.line([(left, top + 14), (left + 80, top + 14)], 5)
        collar = pen.on("light")
        collar.poly([(228, 112), (300, 176), (250, 186), (212, 126)])
        collar.poly([(372, 112), (300, 176), (350, 186), (388, 126)])
    if style == "rain":
        pen.on("ink").chord((246, 78, 354, 180), 0, 180)
    pen.on("ink").line([(300, 150), (300, 498)], 6)
    pen.on("shade").rect((180, 474, 420, 498), 4)


# --- Shoes ------------------------------------------------------------------------------------

def _sneaker(pen: Pen, style: str) -> None:
    _floor(pen, 100, 510, 468)
    sole = pen.on(RUBBER if style == "trail" else WHITE)
    sole.rect((104, 396, 506, 446), 22)
    if style == "trail":
        for x in range(124, 496, 34):
            sole.rect((x, 436, x + 20, 458), 4)
    collar = 262 if style == "court" else 246
    pen.on("body").poly([(116, 404), (118, 300), (142, 284), (204, 292), (244, 294), (262, collar), (300, collar - 8),
                         (318, 262), (336, 300), (420, 328), (480, 348), (504, 374), (506, 404)])
    pen.on("light").poly([(430, 332), (480, 348), (504, 374), (506, 404), (440, 404)])
    pen.on("shade").poly([(116, 404), (118, 300), (142, 284), (160, 288), (164, 404)])
    laces = pen.on("ink" if style != "court" else WHITE)
    for step in range(4):
        x, y = 290 + step * 32, 272 + step * 16
        laces.line([(x - 12, y - 6), (x + 14, y + 10)], 6)
    if style == "runner":
        pen.on("light").line([(200, 380), (300, 330), (390, 350)], 12)
    pen.on("ink").line([(118, 400), (500, 400)], 3)


def _boot(pen: Pen, style: str) -> None:
    _floor(pen, 120, 500, 478)
    pen.on(RUBBER).rect((140, 424, 486, 462), 10)
    top = 120 if style != "chelsea" else 150
    pen.on("body").poly([(170, 430), (174, top), (304, top), (310, 322), (416, 344), (468, 380), (480, 430)])
    if style == "chelsea":
        pen.on("shade").poly([(236, 160), (266, 160), (282, 300), (220, 300)])
        pen.on("ink").rect((182, 132, 210, 178), 6)
    elif style == "hiking":
        pen.on("light").rect((170, top - 8, 308, top + 30), 14)
        laces = pen.on("ink")
        for y in range(176, 330, 34):
            laces.line([(262, y), (320, y + 18)], 6)
        pen.on("shade").poly([(170, 380), (480, 396), (480, 430), (170, 430)])
    else:
        pen.on("shade").poly([(396, 340), (416, 344), (468, 380), (480, 430), (396, 430)])
        stitches = pen.on("ink")
        for x in range(160, 480, 26):
            stitches.line([(x, 418), (x + 12, 418)], 4)
        pen.on("ink").line([(236, top + 30), (300, top + 30)], 5).line([(236, top + 70), (300, top + 70)], 5)


# --- Home ---------------------------------------------------------------------------------------

def _mug(pen: Pen) -> None:
    _floor(pen, 150, 450, 468)
    pen.on("body").arc((352, 250, 478, 400), 270, 90, 30)
    pen.on("body").rect((170, 196, 396, 462), 26)
    pen.on("light").oval((170, 180, 396, 224))
    pen.on("shade").oval((184, 188, 382, 216))
    pen.on("light").rect((200, 250, 220, 420), 8)


def _knife(pen: Pen) -> None:
    _floor(pen, 90, 520, 420)
    pen.on(STEEL).poly([(70, 300), (110, 268), (382, 262), (382, 330), (150, 330)])
    pen.on((150, 156, 162)).line([(90, 322), (382, 326)], 5)
    pen.on("body").rect((378, 262, 540, 322), 22)
    rivets = pen.on(STEEL)
    for x in (420, 462, 504):
        rivets.oval((x - 7, 285, x + 7, 299))


def _cutting_board(pen: Pen) -> None:
    # A wooden board hanging from a loop in the product's colour, with a band of it along the edge.
    _floor(pen, 130, 470, 486)
    pen.on("body").arc((262, 60, 338, 170), 180, 360, 10)
    pen.on((160, 116, 72)).rect((166, 150, 446, 476), 34)
    pen.on(WOOD).rect((154, 140, 434, 466), 34)
    pen.on(WOOD).rect((250, 96, 350, 170), 24)
    pen.on(FLOOR).oval((282, 112, 318, 148))
    grain = pen.on((176, 132, 86))
    for y in (220, 280, 340):
        grain.line([(190, y), (300, y - 8), (400, y + 4)], 4)
    pen.on("body").rect((154, 396, 434, 432))


def _teapot(pen: Pen) -> None:
    _floor(pen, 140, 470, 476)
    pen.on("body").arc((112, 266, 252, 410), 90, 270, 26)
    pen.on("body").poly([(400, 340), (504, 246), (524, 262), (430, 396)])
    pen.on("body").oval((168, 228, 432, 470))
    pen.on("light").oval((232, 206, 368, 252))
    pen.on("shade").oval((284, 180, 316, 212))
    pen.on("light").chord((200, 260, 300, 420), 140, 220)


def _duvet(pen: Pen) -> None:
    _floor(pen, 100, 500, 470)
    pen.on("shade").rect((110, 340, 490, 450), 30)
    pen.on("body").rect((110, 236, 490, 360), 30)
    pen.on("light").rect((130, 250, 470, 282), 14)
    folds = pen.on("ink")
    folds.line([(126, 396), (474, 396)], 4).line([(126, 320), (474, 320)], 4)


def _pillows(pen: Pen) -> None:
    _floor(pen, 100, 500, 454)
    pen.on("shade").rect((176, 162, 494, 330), 60)
    pen.on("body").rect((106, 262, 426, 440), 64)
    seams = pen.on("ink")
    seams.rect((124, 278, 128, 424)).line([(150, 284), (382, 284)], 3)


def _blanket(pen: Pen) -> None:
    _floor(pen, 100, 500, 470)
    pen.on("body").rect((120, 200, 480, 440), 18)
    stripes = pen.on("light")
    for y in (236, 272):
        stripes.line([(120, y), (480, y)], 12)
    pen.on("shade").rect((120, 330, 480, 352))
    fringe = pen.on("ink")
    for x in range(130, 480, 18):
        fringe.line([(x, 440), (x, 466)], 4)


# --- Outdoors -----------------------------------------------------------------------------------

def _tent(pen: Pen) -> None:
    _floor(pen, 70, 530, 452)
    guys = pen.on("ink")
    guys.line([(300, 132), (60, 446)], 3).line([(300, 132), (540, 446)], 3)
    pen.on("body").poly([(300, 124), (512, 440), (88, 440)])
    pen.on("light").poly([(300, 124), (512, 440), (430, 440)])
    pen.on("shade").poly([(300, 214), (378, 440), (222, 440)])
    pen.on("ink").line([(300, 214), (300, 440)], 5)


def _sleeping_bag(pen: Pen) -> None:
    _floor(pen, 160, 440, 512)
    pen.on("body").poly([(204, 180), (396, 180), (372, 496), (228, 496)])
    pen.on("body").oval((196, 86, 404, 240))
    pen.on("shade").oval((242, 112, 358, 196))
    quilt = pen.on("ink")
    for y in (270, 330, 390, 450):
        quilt.line([(214, y), (386 - (y - 270) // 10, y)], 4)
    pen.on("light").line([(350, 200), (340, 490)], 6)


def _stove(pen: Pen) -> None:
    _floor(pen, 150, 450, 480)
    legs = pen.on(RUBBER)
    legs.line([(210, 430), (180, 478)], 10).line([(390, 430), (420, 478)], 10)
    pen.on("body").rect((188, 330, 412, 440), 16)
    pen.on("ink").oval((366, 366, 394, 394))
    pen.on(STEEL).oval((216, 294, 384, 342))
    supports = pen.on(STEEL)
    supports.line([(222, 300), (198, 250)], 8).line([(378, 300), (402, 250)], 8)
    pen.on(FLAME).poly([(250, 300), (270, 240), (290, 274), (300, 200), (314, 276), (332, 236), (350, 300)])


def _lantern(pen: Pen) -> None:
    _floor(pen, 190, 410, 486)
    pen.on("ink").arc((236, 66, 364, 190), 180, 360, 8)
    pen.on("body").poly([(232, 170), (368, 170), (392, 214), (208, 214)])
    pen.on(GLASS).rect((232, 214, 368, 408), 12)
    pen.on("body").rect((208, 400, 392, 470), 14)
    bars = pen.on("body")
    bars.line([(236, 214), (236, 404)], 10).line([(364, 214), (364, 404)], 10)
    pen.on(FLAME).oval((284, 280, 316, 340))


def _bike_light(pen: Pen) -> None:
    _floor(pen, 150, 470, 440)
    pen.on((255, 246, 214)).poly([(430, 290), (560, 220), (560, 410), (430, 350)])
    pen.on(RUBBER).rect((250, 350, 300, 420), 10)
    pen.on("body").rect((170, 262, 440, 362), 44)
    pen.on(GLASS).oval((400, 270, 452, 354))
    pen.on("ink").oval((236, 296, 268, 328))


def _saddle_bag(pen: Pen) -> None:
    _floor(pen, 170, 440, 478)
    pen.on(RUBBER).poly([(110, 160), (440, 144), (500, 176), (420, 214), (150, 214)])
    pen.on(STEEL).rect((286, 214, 306, 252))
    pen.on("body").rect((190, 236, 430, 404), 40)
    pen.on("light").rect((206, 360, 414, 378), 6)
    straps = pen.on("ink")
    straps.line([(250, 214), (250, 250)], 12).line([(370, 214), (370, 250)], 12)


def _cycling_cap(pen: Pen) -> None:
    _floor(pen, 150, 470, 432)
    pen.on("body").chord((160, 196, 440, 476), 180, 360)
    pen.on("shade").poly([(384, 316), (500, 310), (506, 338), (388, 342)])
    stripes = pen.on("light")
    stripes.line([(300, 200), (300, 336)], 14).line([(264, 204), (264, 336)], 8).line([(336, 204), (336, 336)], 8)
    pen.on("ink").line([(160, 336), (440, 336)], 6)


def _backpack(pen: Pen) -> None:
    _floor(pen, 160, 440, 486)
    pen.on("ink").arc((256, 104, 344, 190), 180, 360, 10)
    pen.on("body").rect((186, 140, 414, 476), 64)
    pen.on("shade").rect((220, 316, 380, 456), 28)
    pen.on("ink").arc((206, 166, 394, 300), 180, 360, 5)
    pen.on("ink").line([(234, 340), (366, 340)], 4)
    pen.on(STEEL).rect((290, 330, 310, 350), 4)


def _tote(pen: Pen) -> None:
    _floor(pen, 140, 460, 486)
    pen.on("shade").arc((216, 118, 384, 330), 180, 360, 16)
    pen.on("body").poly([(166, 236), (434, 236), (456, 474), (144, 474)])
    pen.on("light").rect((166, 236, 434, 258))
    pen.on("ink").line([(226, 258), (226, 300)], 5).line([(374, 258), (374, 300)], 5)


def _duffel(pen: Pen) -> None:
    _floor(pen, 90, 510, 462)
    pen.on("ink").arc((216, 170, 384, 330), 180, 360, 14)
    pen.on("body").rect((96, 252, 504, 448), 96)
    ends = pen.on("shade")
    ends.oval((96, 262, 170, 438)).oval((430, 262, 504, 438))
    pen.on("ink").line([(170, 262), (430, 262)], 5)
    pen.on("light").line([(170, 404), (430, 404)], 10)


def _messenger(pen: Pen) -> None:
    _floor(pen, 130, 470, 476)
    pen.on("ink").line([(170, 250), (300, 80), (430, 250)], 12)
    pen.on("body").rect((150, 236, 450, 460), 22)
    pen.on("shade").rect((150, 236, 450, 380), 22)
    pen.on(STEEL).rect((282, 356, 318, 396), 6)
    pen.on("ink").line([(166, 252), (434, 252)], 3)


def _beanie(pen: Pen) -> None:
    _floor(pen, 150, 450, 466)
    pen.on("light").oval((262, 96, 338, 172))
    pen.on("body").chord((170, 150, 430, 560), 180, 360)
    pen.on("shade").rect((164, 346, 436, 444), 20)
    ribs = pen.on("ink")
    for x in range(186, 430, 20):
        ribs.line([(x, 356), (x, 434)], 3)


def _cap(pen: Pen) -> None:
    _floor(pen, 130, 500, 432)
    pen.on("body").chord((150, 190, 420, 470), 180, 360)
    pen.on("shade").poly([(360, 316), (508, 320), (520, 352), (360, 344)])
    seams = pen.on("ink")
    seams.line([(285, 194), (285, 330)], 3).line([(285, 194), (210, 326)], 3)
    seams.oval((274, 180, 296, 202))
    pen.on("ink").line([(152, 330), (418, 330)], 5)


def _bucket_hat(pen: Pen) -> None:
    _floor(pen, 120, 480, 448)
    pen.on("shade").poly([(200, 320), (400, 320), (478, 412), (122, 412)])
    pen.on("body").poly([(224, 190), (376, 190), (402, 336), (198, 336)])
    pen.on("body").chord((224, 166, 376, 214), 180, 360)
    pen.on("ink").rect((204, 300, 396, 322))
    stitches = pen.on("light")
    for y in (354, 376, 398):
        stitches.line([(180 - (y - 354), y), (420 + (y - 354), y)], 2)


DRAWINGS: dict[str, Callable[[Pen], None]] = {
    "tee": _tee,
    "pocket-tee": lambda pen: _tee(pen, pocket=True),
    "v-neck": lambda pen: _tee(pen, neck="v"),
    "sweater": _sweater,
    "cardigan": lambda pen: _sweater(pen, "cardigan"),
    "hoodie": lambda pen: _sweater(pen, "hood"),
    "rain-jacket": lambda pen: _jacket(pen, "rain"),
    "down-jacket": lambda pen: _jacket(pen, "down"),
    "field-jacket": lambda pen: _jacket(pen, "field"),
    "runner": lambda pen: _sneaker(pen, "runner"),
    "court-sneaker": lambda pen: _sneaker(pen, "court"),
    "trail-shoe": lambda pen: _sneaker(pen, "trail"),
    "chelsea-boot": lambda pen: _boot(pen, "chelsea"),
    "hiking-boot": lambda pen: _boot(pen, "hiking"),
    "work-boot": lambda pen: _boot(pen, "work"),
    "mug": _mug,
    "chef-knife": _knife,
    "cutting-board": _cutting_board,
    "teapot": _teapot,
    "duvet-cover": _duvet,
    "pillowcase-set": _pillows,
    "throw-blanket": _blanket,
    "tent": _tent,
    "sleeping-bag": _sleeping_bag,
    "camp-stove": _stove,
    "lantern": _lantern,
    "bike-light": _bike_light,
    "saddle-bag": _saddle_bag,
    "cycling-cap": _cycling_cap,
    "backpack": _backpack,
    "tote": _tote,
    "duffel": _duffel,
    "messenger-bag": _messenger,
    "beanie": _beanie,
    "cap": _cap,
    "bucket-hat": _bucket_hat,
}
# The demo's product nouns that are drawn like another kind.
SAME_AS = {"crew-tee": "tee"}


def kind_of(noun: str) -> str:
    """Return the drawing for a product noun such as "Crew Tee" or "V-neck" (a plain box for an unknown one)."""
    key = "-".join(noun.lower().split())
    return SAME_AS.get(key, key)


@cache
def _masks(kind: str, view: str) -> tuple[tuple[Role, Image.Image], ...]:
    """Return a kind's masks for a view, made once per process and reused for every colour."""
    if view == "detail":
        # A close-up: the product without its floor, enlarged by a third around its middle.
        layers = [(role, mask) for role, mask in _masks(kind, "front") if role != FLOOR]
        left, top, right, bottom = _union([mask.getbbox() for _, mask in layers])
        half = SIZE * 3 // 8
        x = min(max((left + right) // 2, half), SIZE - half)
        y = min(max((top + bottom) // 2, half), SIZE - half)
        box = (x - half, y - half, x + half, y + half)
        return tuple((role, mask.resize((SIZE, SIZE), Image.Resampling.BILINEAR, box=box)) for role, mask in layers)
    pen = Pen()
    DRAWINGS.get(kind, _plain_box)(pen)
    return tuple((role, mask.reduce(SCALE)) for role, mask in pen.layers)


def _union(boxes) -> tuple[int, int, int, int]:
    drawn = [box for box in boxes if box] or [(0, 0, SIZE, SIZE)]
    return (min(b[0] for b in drawn), min(b[1] for b in drawn), max(b[2] for b in drawn), max(b[3] for b in drawn))


def _plain_box(pen: Pen) -> None:
    _floor(pen)
    pen.on("body").rect((160, 170, 440, 470), 30)
    pen.on("shade").rect((160, 170, 440, 220), 30)


def role_colours(rgb: Rgb) -> dict[str, Rgb]:
    """Return the colours that follow a product's colour: itself, a shade, a highlight and a contrasting ink."""
    luminance = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    return {
        "body": rgb,
        "shade": _mix(rgb, (0, 0, 0), 0.22),
        "light": _mix(rgb, (255, 255, 255), 0.3),
        "ink": _mix(rgb, (255, 255, 255), 0.45) if luminance < 110 else _mix(rgb, (0, 0, 0), 0.45),
    }


def _mix(rgb: Rgb, other: Rgb, amount: float) -> Rgb:
    return (round(rgb[0] + (other[0] - rgb[0]) * amount), round(rgb[1] + (other[1] - rgb[1]) * amount),
            round(rgb[2] + (other[2] - rgb[2]) * amount))


def draw(kind: str, rgb: Rgb, view: str = "front") -> Image.Image:
    """Return the picture of a kind of product in a colour, seen whole ("front") or close up ("detail")."""
    colours = role_colours(rgb)
    background = FRONT_BACKGROUND if view == "front" else _mix(rgb, (255, 255, 255), 0.86)
    picture = Image.new("RGB", (SIZE, SIZE), background)
    for role, mask in _masks(kind, view):
        box = mask.getbbox()
        if box is None:
            continue
        colour = role if isinstance(role, tuple) else colours[role]
        picture.paste(colour, box, mask.crop(box))
    return picture


def jpeg(kind: str, rgb: Rgb, view: str = "front") -> bytes:
    """Draw a picture and return it as a JPEG."""
    out = io.BytesIO()
    # JPEG encodes ten times faster than WebP or PNG here, and the seed draws hundreds of pictures.
    draw(kind, rgb, view).save(out, format="JPEG", quality=85)
    return out.getvalue()
