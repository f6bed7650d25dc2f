"""Procedural street scenes with exact ADE20K label maps (numpy only).

A `Scene` is a layout drawn from a seed: horizon, sky and clouds, mountains, a lake, a row of
far buildings, near buildings on either side, a road in perspective with lane markings,
sidewalks, grass verges, trees, parked and moving cars, walking people, and the lighting
(brightness, tint, cloud shadows, sensor noise). On top of that layout (from a second random
stream, so the layout of a seed is the same with or without them) come the conditions: time
of day (day, dusk, night with stars, moon, city glow, lit windows, street lights and car
lights), weather (overcast, fog, rain, snow), glass towers and skyline views with no road
(the camera pitched up at a city), camera roll. `Scene(seed, classic=True)` is the daylight
street alone, pixel for pixel what the generator drew before the conditions existed (the
sample video, samples/street.webm, is one). `Scene.render` draws it at any size, through a
camera panned sideways by `cam` (a rotation: everything shifts alike) at time `time` (cars drive,
people walk), and returns the RGB image with its label map: every pixel's class is the class of
the shape painted last there, so the labels are exact by construction. Light that is not an
object (glows, fog, rain streaks, snowflakes) changes the pixels, not their labels; the moon,
stars and sun are sky.

World units: y runs 0 (top) .. 1 (bottom) of the image; x is in the same units, so a view of
aspect A (world width / height) spans x in [cam, cam + A). Rendering a 16:9 view into a
square image squeezes it the way the segmenter's resize squeezes a 16:9 video frame.

Class ids are ADE20K's (0-based, mmseg order, tools/reference/ade20k.py).

    scene = Scene(seed)
    image, labels = scene.render(640, 360)                 # uint8 (H, W, 3), uint8 (H, W)
    image, labels = training_sample(seed, 128, 128)        # random aspect, pan, time, jitter
    Scene(seed).condition                                  # day, dusk, night, weather, skyline
"""

from __future__ import annotations

import numpy as np

# ADE20K class ids (0-based), checked against ade20k.CLASSES by write_frames.py (tests/demo).
BUILDING, SKY, TREE, ROAD, GRASS, SIDEWALK, PERSON, MOUNTAIN, CAR, WATER = (
    1, 2, 4, 6, 9, 11, 12, 16, 20, 21)
CLASSES = {BUILDING: "building", SKY: "sky", TREE: "tree", ROAD: "road", GRASS: "grass",
           SIDEWALK: "sidewalk", PERSON: "person", MOUNTAIN: "mountain", CAR: "car",
           WATER: "water"}
NOMINAL_ASPECT = 16 / 9


def _smooth(a):
    return a * a * (3 - 2 * a)


class Noise:
    """World-anchored value noise: a random lattice, smooth bilinear interpolation, tiled."""

    def __init__(self, rng: np.random.Generator, size: int = 64) -> None:
        self.n = size
        t = rng.random((size, size)).astype(np.float32)
        # one extra row and column (wrapped) so that the +1 neighbours need no modulo
        self.t = np.pad(t, ((0, 1), (0, 1)), mode="wrap").ravel()

    def __call__(self, x, y, freq: float):
        fx = np.asarray(x, np.float32) * np.float32(freq)
        fy = np.asarray(y, np.float32) * np.float32(freq)
        ix, iy = np.floor(fx), np.floor(fy)
        ax, ay = _smooth(fx - ix), _smooth(fy - iy)
        m, row = self.n - 1, self.n + 1
        idx = (iy.astype(np.int32) & m) * row + (ix.astype(np.int32) & m)
        t = self.t
        top = t[idx]
        top += (t[idx + 1] - top) * ax
        bottom = t[idx + row]
        bottom += (t[idx + row + 1] - bottom) * ax
        return top + (bottom - top) * ay

    def fbm(self, x, y, freq: float, octaves: int = 3):
        total, amp, norm = 0.0, 1.0, 0.0
        for o in range(octaves):
            total = total + amp * self(np.asarray(x) + 13.7 * o, np.asarray(y) + 7.3 * o,
                                       freq * 2 ** o)
            norm += amp
            amp *= 0.5
        return total / norm


class Canvas:
    """An image and its labels, with world coordinates for pixel centres.

    `ambient` (RGB) scales what `paint` draws unless `lit` (the sky, lights); `near` keeps each
    pixel's nearness t (0 at the horizon, 1 at the bottom edge) for the fog; `glows` collects
    lights (world x, y, radius, RGB, flatness) that `Scene._finish` adds on top."""

    def __init__(self, width: int, height: int, aspect: float, cam: float,
                 ambient=(1.0, 1.0, 1.0), top: float = 0.0, span: float = 1.0) -> None:
        self.w, self.h, self.aspect, self.cam = width, height, aspect, cam
        self.top, self.span = top, span  # world y of the top edge, world height
        self.img = np.zeros((height, width, 3), np.float32)
        self.lab = np.zeros((height, width), np.uint8)
        self.near = np.zeros((height, width), np.float32)
        self.ambient = np.asarray(ambient, np.float32)
        self.glows = []
        self.xs = ((np.arange(width, dtype=np.float32) + 0.5) / width * aspect + cam)
        self.ys = top + (np.arange(height, dtype=np.float32) + 0.5) / height * span

    def window(self, x0: float, x1: float, y0: float, y1: float):
        """Pixels covering the world box, as (rows, cols, X, Y), or None when off-screen."""
        c0 = max(0, int(np.floor((x0 - self.cam) / self.aspect * self.w)))
        c1 = min(self.w, int(np.ceil((x1 - self.cam) / self.aspect * self.w)) + 1)
        r0 = max(0, int(np.floor((y0 - self.top) / self.span * self.h)))
        r1 = min(self.h, int(np.ceil((y1 - self.top) / self.span * self.h)) + 1)
        if c0 >= c1 or r0 >= r1:
            return None
        X, Y = np.meshgrid(self.xs[c0:c1], self.ys[r0:r1])
        return slice(r0, r1), slice(c0, c1), X, Y

    def full(self):
        return self.window(-1e9, 1e9, -1.0, 2.0)

    def paint(self, win, mask, color, label: int, near=0.0, lit: bool = False) -> None:
        rows, cols = win[0], win[1]
        if not mask.any():
            return
        if not lit:
            color = color * self.ambient
        img = self.img[rows, cols]
        img[mask] = color[mask] if np.ndim(color) == 3 else color
        self.lab[rows, cols][mask] = label
        self.near[rows, cols][mask] = near[mask] if np.ndim(near) == 2 else near


def _shade(base, tex, amount):
    """base RGB (3,) modulated by a texture field in [0, 1]: (h, w, 3)."""
    return np.asarray(base, np.float32) * (1 - amount + 2 * amount * tex[..., None])


class Scene:
    """One street layout, its lighting and its conditions, drawn from `seed` (`classic`: the
    daylight street alone)."""

    TIMES = ("day", "dusk", "night")
    WEATHERS = ("clear", "overcast", "fog", "rain", "snow")

    def __init__(self, seed: int, classic: bool = False) -> None:
        rng = np.random.default_rng([seed, 0x5ce9e])
        self.seed = seed
        self.noise = Noise(np.random.default_rng([seed, 1]))
        self.h = rng.uniform(0.33, 0.6)  # horizon
        # sky: dusk sometimes
        if rng.random() < 0.2:
            self.sky_top = rng.uniform([0.25, 0.25, 0.45], [0.45, 0.4, 0.7])
            self.sky_low = rng.uniform([0.85, 0.5, 0.3], [1.0, 0.75, 0.5])
        else:
            self.sky_top = rng.uniform([0.15, 0.35, 0.65], [0.45, 0.6, 0.95])
            self.sky_low = rng.uniform([0.6, 0.75, 0.85], [0.85, 0.9, 1.0])
        self.clouds = rng.uniform(0.0, 0.8)
        # mountains
        self.mountain = rng.random() < 0.6
        self.mountain_amp = rng.uniform(0.06, 0.22)
        self.mountain_color = rng.uniform([0.3, 0.32, 0.35], [0.5, 0.5, 0.55]) \
            if rng.random() < 0.6 else rng.uniform([0.25, 0.33, 0.2], [0.4, 0.45, 0.3])
        self.snow = rng.random() < 0.4
        # water band just below the horizon
        self.water = rng.random() < 0.3
        self.water_depth = rng.uniform(0.04, 0.14)
        self.water_color = rng.uniform([0.1, 0.25, 0.4], [0.25, 0.45, 0.65])
        # road and sidewalks in perspective: |x - vx| < t * wb, t = (y - h) / (1 - h)
        self.road = rng.random() < 0.9
        self.vx = rng.uniform(0.45, 1.35)
        self.wb = rng.uniform(0.4, 0.85)
        self.sw = [rng.uniform(0.15, 0.45) if rng.random() < 0.85 else 0.0 for _ in range(2)]
        self.road_color = rng.uniform(0.22, 0.45) * np.array([1, 1, 1.04]) \
            + rng.uniform(-0.03, 0.03, 3)
        self.walk_color = rng.uniform(0.55, 0.78) * np.array([1, 0.98, 0.94]) \
            + rng.uniform(-0.05, 0.05, 3)
        self.grass_color = rng.uniform([0.2, 0.38, 0.08], [0.42, 0.6, 0.25])
        self.marking = rng.random() < 0.8
        # far buildings along the horizon
        self.far = []
        if rng.random() < 0.85:
            x = rng.uniform(-2.0, -1.6)
            while x < 4.5:
                w = rng.uniform(0.08, 0.35)
                if rng.random() < 0.8:
                    self.far.append(self._building(rng, x, x + w, self.h + rng.uniform(0, 0.02),
                                                   rng.uniform(0.08, 0.38)))
                x += w + (rng.uniform(0, 0.25) if rng.random() < 0.4 else 0)
        # near buildings beyond the sidewalks
        self.near = []
        for side in (-1, 1):
            if rng.random() < 0.55:
                for _ in range(rng.integers(1, 4)):
                    t = rng.uniform(0.1, 0.45)
                    yb = self.h + t * (1 - self.h)
                    edge = self.vx + side * t * self.wb * (1 + self.sw[(side + 1) // 2] + 0.05)
                    w = rng.uniform(0.3, 1.2)
                    x0, x1 = (edge - w, edge) if side < 0 else (edge, edge + w)
                    self.near.append(self._building(rng, x0, x1, yb, rng.uniform(0.3, 0.8) * t
                                                    + rng.uniform(0.1, 0.3)))
            self.near.sort(key=lambda b: b["yb"])
        # trees: along the sidewalks' outer edges and a few far ones
        self.trees = []
        for side in (-1, 1):
            if rng.random() < 0.75:
                t = rng.uniform(0.1, 0.3)
                step = rng.uniform(0.15, 0.4)
                while t < 1.3:
                    if rng.random() < 0.8:
                        out = self.wb * (1 + self.sw[(side + 1) // 2] + rng.uniform(0.05, 0.4))
                        self.trees.append(self._tree(rng, self.vx + side * t * out, t))
                    t += step * t
        for _ in range(rng.integers(0, 6)):
            t = rng.uniform(0.02, 0.12)
            self.trees.append(self._tree(rng, rng.uniform(-1.5, 4.0), t))
        # cars on the road, people on the sidewalks (depth t at time 0, speed in t per second)
        self.cars, self.people = [], []
        if self.road:
            for _ in range(rng.integers(0, 6)):
                lane = rng.choice([-0.5, 0.5]) * rng.uniform(0.8, 1.2)
                speed = rng.uniform(0.02, 0.08) * (1 if lane > 0 else -1)
                if rng.random() < 0.3:
                    speed, lane = 0.0, np.sign(lane) * rng.uniform(0.75, 0.85)  # parked
                self.cars.append(dict(t0=rng.uniform(0.15, 1.1), speed=speed, lane=lane,
                                      color=rng.uniform(0.05, 0.95, 3),
                                      kind=rng.integers(0, 3)))
            for _ in range(rng.integers(0, 7)):
                side = rng.choice([-1, 1])
                sw = self.sw[(side + 1) // 2]
                where = rng.uniform(0.2, 0.8) * sw if sw > 0 else rng.uniform(0.05, 0.3)
                self.people.append(dict(t0=rng.uniform(0.2, 1.05), side=side, off=1 + where,
                                        speed=rng.uniform(-0.03, 0.03),
                                        phase=rng.uniform(0, 6.3),
                                        shirt=rng.uniform(0.05, 0.95, 3),
                                        pants=rng.uniform(0.05, 0.5, 3),
                                        skin=rng.uniform([0.45, 0.3, 0.2], [0.95, 0.75, 0.6])))
        # a few people on the grass in park scenes
        if not self.road:
            for _ in range(rng.integers(1, 5)):
                self.people.append(dict(t0=rng.uniform(0.25, 1.0), side=rng.choice([-1, 1]),
                                        off=rng.uniform(0.0, 1.5), speed=0.0,
                                        phase=rng.uniform(0, 6.3),
                                        shirt=rng.uniform(0.05, 0.95, 3),
                                        pants=rng.uniform(0.05, 0.5, 3),
                                        skin=rng.uniform([0.45, 0.3, 0.2], [0.95, 0.75, 0.6])))
        # lighting
        self.brightness = rng.uniform(0.6, 1.2)
        self.contrast = rng.uniform(0.75, 1.15)
        self.tint = rng.uniform(0.88, 1.12, 3)
        self.light_slope = rng.uniform(-0.25, 0.25)
        self.shadows = rng.uniform(0, 0.45) if rng.random() < 0.5 else 0.0
        self.noise_sigma = rng.uniform(0.0, 0.05)
        self._conditions(np.random.default_rng([seed, 0xc0d17]), classic)

    @property
    def condition(self) -> str:
        """The scene's kind for per-condition figures: skyline (no road), weather (fog, rain or
        snow), else the time of day (day, dusk, night)."""
        if self.skyline:
            return "skyline"
        if self.weather in ("fog", "rain", "snow"):
            return "weather"
        return self.time_of_day

    def _conditions(self, rng: np.random.Generator, classic: bool) -> None:
        """Time of day, weather, towers or a skyline view, lights and roll, from their own
        random stream; `classic` keeps the daylight street as it is."""
        self.time_of_day, self.weather, self.skyline, self.roll = "day", "clear", False, 0.0
        self.ambient = np.ones(3, np.float32)
        self.sky_power, self.cloud_color, self.pivot = 1.0, np.float32(0.95), 0.5
        self.fog, self.fog_color = 0.0, np.zeros(3)
        self.sun = self.moon = None
        self.stars, self.lamps = 0.0, []
        for b in self.far + self.near:
            b.update(glass=False, lit=0.0)
        if classic:
            return
        tod = self.time_of_day = str(rng.choice(self.TIMES, p=[0.45, 0.2, 0.35]))
        wx = self.weather = str(rng.choice(self.WEATHERS, p=[0.66, 0.1, 0.09, 0.08, 0.07]))
        self.skyline = rng.random() < 0.22
        self.roll = rng.uniform(-5.0, 5.0) if rng.random() < 0.5 else 0.0  # degrees
        if self.skyline:
            self._skyline(rng)
        elif rng.random() < 0.5:  # a city: some far buildings are towers
            for b in self.far:
                if rng.random() < 0.35:
                    b["yt"] = b["yb"] - rng.uniform(0.25, 0.65)
        for b in self.far + self.near:
            tall = b["yb"] - b["yt"] > 0.25
            b.update(glass=rng.random() < (0.45 if tall else 0.12),
                     tint=rng.uniform([0.55, 0.7, 0.8], [0.8, 0.92, 1.05]),
                     frame=rng.uniform(0.05, 0.5),
                     lit={"day": 0.0, "dusk": rng.uniform(0.0, 0.4),
                          "night": rng.uniform(0.15, 0.85)}[tod],
                     litcolor=rng.uniform([0.9, 0.7, 0.35], [1.0, 0.95, 0.7])
                     if rng.random() < 0.6 else rng.uniform([0.7, 0.8, 0.9], [0.9, 0.95, 1.0]))
        # sky, ambient light and exposure by the time of day
        if tod == "dusk":
            self.sky_top = rng.uniform([0.12, 0.12, 0.3], [0.4, 0.35, 0.65])
            self.sky_low = rng.uniform([0.85, 0.45, 0.25], [1.0, 0.75, 0.5])
            self.ambient = rng.uniform(0.45, 0.8) * rng.uniform([0.95, 0.8, 0.65],
                                                                 [1.05, 0.92, 0.8])
            self.cloud_color = self.sky_low * rng.uniform(0.7, 1.0) + 0.05
        elif tod == "night":
            self.sky_top = rng.uniform([0.0, 0.0, 0.02], [0.04, 0.05, 0.14])
            self.sky_low = rng.uniform([0.1, 0.07, 0.06], [0.4, 0.25, 0.25])  # city glow
            self.sky_power = rng.uniform(2.0, 4.0)  # the glow hugs the horizon
            self.ambient = rng.uniform(0.2, 0.4) * rng.uniform([0.7, 0.75, 0.9],
                                                                  [0.9, 0.95, 1.1])
            self.cloud_color = self.sky_low * rng.uniform(0.4, 0.8) + 0.02
            self.brightness = rng.uniform(1.0, 1.5)
            self.contrast = rng.uniform(0.9, 1.2)
            self.pivot = 0.2
            self.stars = rng.uniform(0.3, 1.0) if rng.random() < 0.7 else 0.0
        if wx != "clear":  # a grey sky, no sun, no stars
            grey = {"day": rng.uniform(0.5, 0.8), "dusk": rng.uniform(0.35, 0.6),
                    "night": rng.uniform(0.05, 0.15)}[tod]
            top = grey * rng.uniform([0.9, 0.92, 0.95], [1.0, 1.0, 1.08])
            self.sky_low = self.sky_low * 0.3 + top * 0.9 if tod == "night" else top * 1.15
            self.sky_top = top
            self.clouds = rng.uniform(0.5, 1.0)
            self.cloud_color = top * rng.uniform(0.8, 1.05)
            self.shadows, self.stars = 0.0, 0.0
            if tod != "night":
                self.ambient = self.ambient * rng.uniform(0.65, 0.9)
            self.fog = {"overcast": 0.0, "fog": rng.uniform(0.45, 0.75),
                        "rain": rng.uniform(0.15, 0.4), "snow": rng.uniform(0.2, 0.45)}[wx]
            self.fog_color = (self.sky_low + top) / 2
            self.precip_density = rng.uniform(0.4, 1.0)
            self.rain_slant = rng.uniform(-0.3, 0.3)
            if wx == "snow":  # snow lies on the grass and the sidewalks
                self.grass_color = rng.uniform(0.8, 0.95) * np.array([0.95, 0.97, 1.0]) \
                    * 0.85 + self.grass_color * 0.15
                self.walk_color = rng.uniform(0.75, 0.9) * np.array([0.95, 0.97, 1.0])
            if wx == "rain":  # wet asphalt is darker
                self.road_color = self.road_color * rng.uniform(0.6, 0.85)
        elif tod != "night" and rng.random() < 0.4:  # the sun, which lights from its side
            y = rng.uniform(0.05, 0.6 * self.h) if tod == "day" else \
                self.h - rng.uniform(0.01, 0.12)
            x = self.vx + rng.uniform(-1.2, 1.2)
            self.sun = (x, y, rng.uniform(0.02, 0.035),
                        np.array([1.0, 0.97, 0.85]) if tod == "day" else np.array([1.0, 0.7, 0.35]))
            self.light_slope = abs(self.light_slope) * np.sign(x - self.vx)
        if tod == "night" and wx in ("clear", "overcast") and rng.random() < 0.5:
            self.moon = (self.vx + rng.uniform(-1.0, 1.0),
                         rng.uniform(0.04, max(0.06, self.h - 0.1)), rng.uniform(0.012, 0.03))
        if self.road and tod != "day" and rng.random() < 0.85:  # street lights beside the road
            colour = np.array([1.0, 0.65, 0.3]) if rng.random() < 0.6 else \
                np.array([0.85, 0.92, 1.0])
            gap = rng.uniform(0.25, 0.45)
            for side in (-1, 1):
                if rng.random() < 0.8:
                    t = rng.uniform(0.08, 0.2)
                    while t < 1.3:
                        self.lamps.append((side, t, colour * rng.uniform(0.7, 1.1)))
                        t += gap * t

    def _skyline(self, rng: np.random.Generator) -> None:
        """The camera pitched up at a city: the horizon low or out of view, rows of towers,
        maybe a lake or trees in front; no road, cars or people."""
        self.h = rng.uniform(0.72, 1.05)
        self.road, self.cars, self.people, self.near = False, [], [], []
        self.trees = [t for t in self.trees if t["t"] < 0.13]
        for _ in range(rng.integers(0, 4)):
            if rng.random() < 0.5:
                self.trees.append(self._tree(rng, self.vx + rng.uniform(-1.2, 1.2),
                                             rng.uniform(0.4, 1.2)))
        self.mountain = self.mountain and rng.random() < 0.3
        self.water = rng.random() < 0.45
        self.water_depth = rng.uniform(0.05, 0.2)
        self.far = []
        for low, high, lift in ((0.08, 0.35, 0.0), (0.15, 0.8, 0.012)):  # back row, front row
            x = rng.uniform(-2.0, -1.6)
            while x < 4.5:
                w = rng.uniform(0.05, 0.3)
                if rng.random() < 0.85:
                    self.far.append(self._building(rng, x, x + w, self.h + lift
                                                   + rng.uniform(0, 0.01),
                                                   rng.uniform(low, high)))
                x += w + (rng.uniform(0, 0.15) if rng.random() < 0.3 else 0)

    @staticmethod
    def _building(rng, x0, x1, yb, height):
        base = rng.uniform(0.25, 0.85) * rng.uniform([0.85, 0.8, 0.75], [1.1, 1.0, 1.0])
        return dict(x0=x0, x1=x1, yb=yb, yt=yb - height, color=base,
                    win=rng.random() < 0.85, cw=rng.uniform(0.015, 0.05),
                    ch=rng.uniform(0.02, 0.06), fill=rng.uniform(0.4, 0.75),
                    wcolor=rng.uniform(0.05, 0.35, 3) if rng.random() < 0.7
                    else rng.uniform(0.7, 1.0, 3), roof=rng.random() < 0.4,
                    seed=rng.integers(1 << 30))

    @staticmethod
    def _tree(rng, x, t):
        s = max(t, 0.02)
        height = rng.uniform(0.35, 0.7) * s
        blobs = [(rng.uniform(-0.12, 0.12) * height, rng.uniform(-0.15, 0.1) * height,
                  rng.uniform(0.18, 0.32) * height) for _ in range(rng.integers(3, 7))]
        return dict(x=x, t=t, height=height, blobs=blobs,
                    color=rng.uniform([0.08, 0.25, 0.05], [0.3, 0.5, 0.18]),
                    trunk=rng.uniform([0.25, 0.15, 0.08], [0.45, 0.3, 0.18]))

    # ----------------------------------------------------------------------------------------

    def ground_y(self, t):
        return self.h + t * (1 - self.h)

    def render(self, width: int, height: int, aspect: float | None = None, cam: float = 0.0,
               time: float = 0.0, noise_seed: int | None = None, background=None):
        """(image uint8 (H, W, 3), labels uint8 (H, W)) of the view [cam, cam + aspect).

        background: a panorama from `background()` at the same pixel density to crop the
        static layers from (a video's frames), instead of drawing them."""
        aspect = width / height if aspect is None else aspect
        if self.roll and background is None:
            return self._render_rolled(width, height, aspect, cam, time, noise_seed)
        cv = Canvas(width, height, aspect, cam, self.ambient)
        if background is None:
            self._draw_background(cv, time)
        else:
            img, lab, bcam = background
            off = int(round((cam - bcam) / aspect * width))
            cv.img[:], cv.lab[:] = img[:, off:off + width], lab[:, off:off + width]
        self._draw_objects(cv, time)
        return self._finish(cv, cv.window(-1e9, 1e9, self.h, 2.0), time, noise_seed)

    def _render_rolled(self, width, height, aspect, cam, time, noise_seed):
        """The view rolled by `self.roll` degrees about its centre: a larger view at the same
        pixel density, rotated back with nearest sampling (labels stay exact)."""
        a = np.radians(self.roll)
        ca, sa = np.cos(a), np.sin(a)
        hx = aspect / 2 * abs(ca) + 0.5 * abs(sa) + 2 * aspect / width
        hy = aspect / 2 * abs(sa) + 0.5 * abs(ca) + 2 / height
        bw, bh = int(np.ceil(2 * hx / aspect * width)), int(np.ceil(2 * hy * height))
        cx = cam + aspect / 2
        cv = Canvas(bw, bh, bw * aspect / width, cx - bw * aspect / width / 2, self.ambient,
                    0.5 - bh / height / 2, bh / height)
        self._draw_background(cv, time)
        self._draw_objects(cv, time)
        img, lab = self._finish(cv, cv.window(-1e9, 1e9, self.h, 2.0), time, noise_seed)
        dx = (np.arange(width, dtype=np.float32) + 0.5) / width * aspect - aspect / 2
        dy = (np.arange(height, dtype=np.float32) + 0.5) / height - 0.5
        DX, DY = np.meshgrid(dx, dy)
        X, Y = cx + DX * ca - DY * sa, 0.5 + DX * sa + DY * ca
        cols = np.clip(((X - cv.cam) / cv.aspect * bw).astype(np.int32), 0, bw - 1)
        rows = np.clip(((Y - cv.top) / cv.span * bh).astype(np.int32), 0, bh - 1)
        return img[rows, cols], lab[rows, cols]

    def background(self, width: int, height: int, aspect: float, cam: float, time: float = 0.0):
        """The static layers (sky, mountains, buildings, ground) of [cam, cam + aspect)."""
        cv = Canvas(width, height, aspect, cam, self.ambient)
        self._draw_background(cv, time)
        return cv.img, cv.lab, cam

    def _draw_background(self, cv: Canvas, time: float) -> None:
        nz = self.noise
        h = self.h
        # sky with clouds (the ground covers every row below the horizon)
        full = cv.window(-1e9, 1e9, -1.0, h)
        _, _, X, Y = full
        g = np.clip(Y / max(h, 1e-3), 0, 1)[..., None]
        if self.sky_power != 1.0:
            g = g ** self.sky_power
        sky = self.sky_top * (1 - g) + self.sky_low * g
        if self.stars > 0:  # points of the lattice, fading into the city glow
            star = np.clip((nz(X + 40.0, Y + 40.0, 160.0) - 0.96) * 30, 0, 1) * (1 - g[..., 0])
            sky = sky + (self.stars * star)[..., None]
        for body in (self.sun, self.moon):
            if body is not None:
                bx, by, r = body[:3]
                d = np.hypot(X - bx, Y - by) / r
                colour = body[3] if len(body) > 3 else np.array([0.92, 0.92, 0.85])
                halo = np.exp(-d / (4.0 if len(body) > 3 else 1.5))[..., None]
                sky = sky * (1 - halo) + colour * halo
                sky[d < 1] = colour * (1.1 if len(body) > 3 else 1.0)
        if self.clouds > 0:
            c = np.clip((nz.fbm(X * 0.5 + 0.05 * time, Y * 2.0, 3.0, 4) - (1 - self.clouds * 0.6))
                        * 3, 0, 1)[..., None]
            sky = sky * (1 - c) + self.cloud_color * c
        cv.paint(full, Y < h + 0.5, sky, SKY, lit=True)
        # mountains: a ridge line over x
        mwin = cv.window(-1e9, 1e9, h - 1.35 * self.mountain_amp - 0.01, h)
        if self.mountain and mwin is not None:
            _, cols, X, Y = mwin
            ridge = h - self.mountain_amp * (0.3 + nz.fbm(cv.xs[cols], np.float32(3.3), 1.2, 4))
            m = (Y >= ridge)
            shade = nz.fbm(X, Y, 12.0, 3)
            col = _shade(self.mountain_color, shade, 0.25)
            if self.snow:
                snow = (Y < ridge + 0.25 * self.mountain_amp * (0.5 + shade)) & \
                       (ridge < h - 0.7 * self.mountain_amp)
                col[snow] = 0.9 + 0.08 * shade[snow, None]
            cv.paint(mwin, m, col, MOUNTAIN)
        # far buildings stand on the horizon, before the ground is drawn over their feet
        for b in self.far:
            self._draw_building(cv, b)
        # ground: grass, water band, road, sidewalks
        full = cv.window(-1e9, 1e9, h, 2.0)
        if full is None:  # the ground is out of view (a skyline, the camera pitched up)
            return
        _, _, X, Y = full
        below = Y >= h
        t = np.clip((Y - h) / (1 - h), 1e-4, None)
        grass_tex = nz.fbm(X * 3, Y * 3, 20.0, 3)
        cv.paint(full, below, _shade(self.grass_color, grass_tex, 0.3), GRASS, t)
        if self.water:
            wmask = below & (Y < h + self.water_depth)
            ripple = 0.5 + 0.5 * np.sin(Y * 900 + nz(X, Y, 8.0) * 6)
            col = _shade(self.water_color, ripple * 0.5 + 0.5 * nz(X, Y, 30.0), 0.25)
            if self.time_of_day == "night" or self.skyline:
                # it mirrors the sky and, at night, the city's lights as broken vertical streaks
                col = col * self.ambient * 0.6 + 0.4 * self.sky_low
                if self.time_of_day == "night":
                    streak = np.clip((nz(X * 40, Y * 3, 8.0) - 0.7) * 3, 0, 1) * ripple
                    col = col + streak[..., None] * np.array([0.9, 0.7, 0.4])
                cv.paint(full, wmask, col, WATER, t, lit=True)
            else:
                cv.paint(full, wmask, col, WATER, t)
        for b in self.near:
            self._draw_building(cv, b)
        if self.road:
            d = np.abs(X - self.vx) / t  # lateral position in bottom-width units
            depth = 1.0 / t
            for side, sw in ((-1, self.sw[0]), (1, self.sw[1])):
                if sw <= 0:
                    continue
                on_side = (X - self.vx) * side > 0
                walk = below & on_side & (d >= self.wb) & (d < self.wb * (1 + sw))
                tiles = ((depth * 4) % 1 < 0.06) | (((d / self.wb - 1) / sw * 3) % 1 < 0.05)
                tex = nz(X * 6, Y * 6, 25.0) * 0.7 + 0.3 * (~tiles)
                cv.paint(full, walk, _shade(self.walk_color, tex, 0.2), SIDEWALK, t)
            road = below & (d < self.wb)
            tex = nz.fbm(X * 4, Y * 4, 40.0, 2)
            col = _shade(self.road_color, tex, 0.25)
            if self.marking:
                centre = (d < self.wb * 0.025) & ((depth * 1.5) % 1 < 0.5)
                edge = (np.abs(d - self.wb * 0.93) < self.wb * 0.015)
                col[centre | edge] = np.array([0.85, 0.85, 0.8])
            cv.paint(full, road, col, ROAD, t)

    def _draw_objects(self, cv: Canvas, time: float) -> None:
        for side, t, colour in self.lamps:  # street lights: a bright head, a halo, a pool
            yg = self.ground_y(t)
            sw = self.sw[(side + 1) // 2]
            x = self.vx + side * t * self.wb * (1 + 0.9 * sw + 0.02)
            y = yg - 1.2 * self.wb * t
            cv.glows += [(x, y, 0.015 * self.wb * t + 0.002, colour * 2.0, 1.0),
                         (x, y, 0.12 * self.wb * t, colour * 0.35, 1.0),
                         (self.vx + side * t * self.wb * 0.8, yg, 0.6 * self.wb * t,
                          colour * 0.25, 0.25)]
        # objects back to front by their ground depth
        items = [(tr["t"], "tree", tr) for tr in self.trees]
        for c in self.cars:
            tc = c["t0"] + c["speed"] * time
            if c.get("wrap"):  # endless traffic (the video): re-enter at the far end
                tc = 0.1 + (tc - 0.1) % 1.5 if c["speed"] > 0 else 0.1 + (tc - 0.1) % 1.2
            if 0.1 < tc < 1.6:
                items.append((tc, "car", c))
        for p in self.people:
            tp = p["t0"] + p["speed"] * time
            if 0.12 < tp < 1.4:
                items.append((tp, "person", p))
        for tt, kind, obj in sorted(items, key=lambda it: it[0]):
            if kind == "tree":
                self._draw_tree(cv, obj)
            elif kind == "car":
                self._draw_car(cv, obj, tt)
            else:
                self._draw_person(cv, obj, tt, time)

    def _draw_building(self, cv: Canvas, b) -> None:
        win = cv.window(b["x0"], b["x1"], b["yt"], b["yb"])
        if win is None:
            return
        _, _, X, Y = win
        tex = self.noise(X * 5 + b["seed"] % 97, Y * 5, 30.0)
        u, v = X - b["x0"], Y - b["yt"]
        cw, ch = b["cw"], b["ch"]
        if b["glass"]:
            col = self._glass(b, X, Y, u, v, tex)
        else:
            col = _shade(b["color"], tex, 0.12)
            if b["win"]:
                fx, fy = (u / cw) % 1, (v / ch) % 1
                wmask = (np.abs(fx - 0.5) < b["fill"] / 2) & (np.abs(fy - 0.5) < b["fill"] / 2)
                wmask &= (u > cw * 0.5) & (b["x1"] - X > cw * 0.5) & (v > ch * 0.7) & \
                         (b["yb"] - Y > ch * 1.2)
                col[wmask] = b["wcolor"] * (0.8 + 0.4 * tex[wmask, None])
            if b["roof"]:
                col[v < 0.012] *= 0.6
            col = col * cv.ambient
            if b["win"] and b["lit"] > 0:  # lit windows, each on or off by the lattice
                on = wmask & (self.noise(np.floor(u / cw) + b["seed"] % 89,
                                         np.floor(v / ch) + 17, 1.0) < b["lit"])
                col[on] = b["litcolor"] * (0.75 + 0.5 * tex[on, None])
        if self.weather == "snow" and b["roof"]:
            col[v < 0.012] = 0.85 * cv.ambient
        mask = (X >= b["x0"]) & (X < b["x1"]) & (Y >= b["yt"]) & (Y < b["yb"])
        cv.paint(win, mask, col, BUILDING, max(0.0, (b["yb"] - self.h) / (1 - self.h)),
                 lit=True)

    def _glass(self, b, X, Y, u, v, tex):
        """A curtain wall: panes that mirror the sky (tinted, darker, with the clouds), a grid
        of mullions, and at night whole floors lit behind the glass."""
        g = np.clip(0.4 + 0.6 * (Y - b["yt"]) / max(b["yb"] - b["yt"], 1e-3), 0, 1)[..., None]
        sky = self.sky_top * (1 - g) + self.sky_low * g
        cloud = self.noise.fbm(X * 0.5 + 3.1, Y * 2.0, 3.0, 3)
        col = (sky * b["tint"] * (0.6 + 0.5 * cloud[..., None])).astype(np.float32)
        cw, ch = b["cw"], b["ch"]
        ix, iy = np.floor(u / cw), np.floor(v / ch)
        col *= (0.85 + 0.3 * self.noise(ix + b["seed"] % 83, iy + 5, 1.0))[..., None]
        if b["lit"] > 0:
            floor_on = self.noise(np.float32(b["seed"] % 71), iy + 29, 1.0) < b["lit"] * 1.2
            pane_on = self.noise(ix + b["seed"] % 79, iy + 41, 1.0) < 0.8
            on = floor_on & pane_on
            col[on] = b["litcolor"] * (0.6 + 0.4 * tex[on, None])
        mullion = ((u / cw) % 1 < 0.08) | ((v / ch) % 1 < 0.1)
        col[mullion] = b["color"] * b["frame"] * self.ambient
        return col

    def _draw_tree(self, cv: Canvas, tr) -> None:
        yg = self.ground_y(tr["t"])
        hgt = tr["height"]
        trunk_w = 0.06 * hgt
        cx, cy = tr["x"], yg - 0.68 * hgt
        r = max(rb for _, _, rb in tr["blobs"]) + 0.2 * hgt
        win = cv.window(cx - r, cx + r, cy - r, yg)
        if win is None:
            return
        _, _, X, Y = win
        mask = (np.abs(X - cx) < trunk_w) & (Y > cy) & (Y < yg)
        col = np.empty(X.shape + (3,), np.float32)
        col[:] = tr["trunk"]
        crown = np.zeros(X.shape, bool)
        wobble = self.noise(X * 7, Y * 7, 2.0 / max(hgt, 0.02))
        for dx, dy, rb in tr["blobs"]:
            dist = np.hypot(X - cx - dx, Y - cy - dy)
            crown |= dist < rb * (0.8 + 0.4 * wobble)
        leaf = self.noise(X * 3, Y * 3, 6.0 / max(hgt, 0.02))
        light = np.clip(0.5 + (cy - Y) / max(hgt, 1e-3), 0, 1)
        leaves = _shade(tr["color"], 0.6 * leaf + 0.4 * light, 0.45)
        col[crown] = leaves[crown]
        cv.paint(win, mask | crown, col, TREE, tr["t"])

    def _draw_car(self, cv: Canvas, c, tc: float) -> None:
        yg = self.ground_y(tc)
        x = self.vx + c["lane"] * tc * self.wb
        w = 0.5 * self.wb * tc * (1.15 if c["kind"] == 2 else 1.0)
        hgt = w * (0.75 if c["kind"] == 2 else 0.62)
        win = cv.window(x - w / 2, x + w / 2, yg - hgt, yg)
        if win is None:
            return
        _, _, X, Y = win
        u = (X - (x - w / 2)) / w  # 0..1 across
        v = (yg - Y) / hgt         # 0 at the ground, 1 at the roof
        body = (u >= 0) & (u < 1) & (v > 0.08) & (v < 0.55)
        cab_in = 0.12 if c["kind"] != 1 else 0.2
        cabin = (v >= 0.55) & (v < 1.0) & (u > cab_in + (v - 0.55) * 0.25) & \
            (u < 1 - cab_in - (v - 0.55) * 0.25)
        wheels = (v <= 0.16) & (((u > 0.06) & (u < 0.26)) | ((u > 0.74) & (u < 0.94)))
        col = np.empty(X.shape + (3,), np.float32)
        col[:] = c["color"]
        col *= (0.85 + 0.3 * self.noise(X * 9, Y * 9, 4.0 / max(w, 0.02)))[..., None]
        glass = (v > 0.62) & (v < 0.93) & (u > cab_in + 0.06 + (v - 0.55) * 0.25) & \
            (u < 1 - cab_in - 0.06 - (v - 0.55) * 0.25)
        col[glass] = np.array([0.2, 0.25, 0.3]) + 0.2 * v[glass, None]
        lights = (v > 0.38) & (v < 0.48) & ((u < 0.12) | (u > 0.88))
        col[lights] = np.array([0.85, 0.1, 0.08])
        plate = (v > 0.2) & (v < 0.3) & (np.abs(u - 0.5) < 0.1)
        col[plate] = 0.9
        col[wheels] = 0.06
        # shadow on the road under the car
        shadow = (v >= 0) & (v < 0.08) & (u > -0.03) & (u < 1.03) & ~wheels
        img = cv.img[win[0], win[1]]
        img[shadow] *= 0.45
        cv.paint(win, body | cabin | wheels, col, CAR, tc)
        if self.time_of_day != "day" and c["speed"] != 0:
            # oncoming cars (left lane) show their headlights, the others their tail lights
            front = c["lane"] < 0
            colour = np.array([1.6, 1.52, 1.28]) if front else np.array([1.4, 0.17, 0.08])
            cv.paint(win, lights & body, colour, CAR, tc, lit=True)
            for lu in (0.06, 0.94):
                cv.glows.append((x - w / 2 + lu * w, yg - 0.43 * hgt, 0.12 * w,
                                 colour * (0.5 if front else 0.35), 1.0))
            if front:  # the beam on the road in front of the car
                cv.glows.append((x, yg + 0.1 * w, 0.7 * w, np.array([0.5, 0.48, 0.4]), 0.2))

    def _draw_person(self, cv: Canvas, p, tp: float, time: float) -> None:
        yg = self.ground_y(tp)
        if self.road:
            x = self.vx + p["side"] * tp * self.wb * p["off"]
        else:
            x = self.vx + p["side"] * tp * p["off"]
        hgt = 0.62 * self.wb * tp
        w = 0.3 * hgt
        win = cv.window(x - w, x + w, yg - hgt, yg)
        if win is None:
            return
        _, _, X, Y = win
        u = (X - x) / hgt  # centred, in heights
        v = (yg - Y) / hgt
        swing = 0.06 * np.sin(p["phase"] + time * 5.0) if p["speed"] != 0 else 0.02
        legs = (v < 0.47) & (v >= 0) & ((np.abs(u - 0.045 - swing * (0.47 - v)) < 0.035) |
                                        (np.abs(u + 0.045 + swing * (0.47 - v)) < 0.035))
        torso = (v >= 0.45) & (v < 0.82) & (np.abs(u) < 0.09 + 0.02 * (v - 0.45))
        arms = (v >= 0.5) & (v < 0.8) & (np.abs(np.abs(u) - 0.13) < 0.025)
        head = np.hypot(u, v - 0.9) < 0.075
        col = np.empty(X.shape + (3,), np.float32)
        col[:] = p["shirt"]
        col[legs] = p["pants"]
        col[head | (arms & (v < 0.56))] = p["skin"]
        col[head & (v > 0.93)] = p["pants"] * 0.5  # hair
        col *= (0.85 + 0.3 * self.noise(X * 11, Y * 11, 5.0 / max(hgt, 0.02)))[..., None]
        cv.paint(win, legs | torso | arms | head, col, PERSON, tp)

    def _finish(self, cv: Canvas, ground, time, noise_seed):
        img = cv.img
        if self.shadows > 0 and ground is not None:  # cloud shadows on the ground
            rows, cols, X, Y = ground
            s = np.clip((self.noise.fbm(X * 0.7 + 0.03 * time, Y * 0.7 + 5, 2.5, 2) - 0.45) * 4,
                        0, 1)
            img[rows, cols] *= (1 - self.shadows * s * (Y > self.h))[..., None]
        if self.fog > 0:  # haze thickens towards the horizon
            a = (self.fog * (1 - np.clip(cv.near, 0, 1)) ** 2)[..., None]
            img[:] = img * (1 - a) + self.fog_color * a
        for x, y, r, colour, flat in cv.glows:  # lights: added, whatever they shine on
            win = cv.window(x - 3 * r, x + 3 * r, y - 3 * r * flat, y + 3 * r * flat)
            if win is not None:
                rows, cols, X, Y = win
                d2 = ((X - x) / r) ** 2 + ((Y - y) / (r * flat)) ** 2
                img[rows, cols] += np.exp(-d2)[..., None] * colour
        img *= (self.brightness * (1 + self.light_slope * (cv.xs - cv.cam - cv.aspect / 2)))[
            None, :, None]
        img = (img - self.pivot) * self.contrast + self.pivot
        img *= self.tint
        if self.weather in ("rain", "snow"):
            self._precipitation(img, time, noise_seed)
        if self.noise_sigma > 0 and noise_seed is not None:
            rng = np.random.default_rng([self.seed, noise_seed, 7])
            img += rng.normal(0, self.noise_sigma, img.shape).astype(np.float32)
        return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8), cv.lab

    def _precipitation(self, img, time, noise_seed) -> None:
        """Rain streaks or snowflakes over the image (they change no label)."""
        h, w = img.shape[:2]
        rng = np.random.default_rng([self.seed, noise_seed or 0, int(time * 1000), 11])
        light = 0.35 if self.time_of_day == "night" else 0.85
        if self.weather == "rain":
            n = int(w * h * 0.006 * self.precip_density)
            x0, y0 = rng.uniform(0, w, n), rng.uniform(-0.1 * h, h, n)
            length = rng.uniform(0.03, 0.09, n) * h
            s = np.linspace(0, 1, 12)
            ys = y0[:, None] + length[:, None] * s
            xs = x0[:, None] + self.rain_slant * (ys - y0[:, None])
            alpha = 0.3
        else:
            n = int(w * h * 0.004 * self.precip_density)
            ys, xs = rng.uniform(0, h, (n, 1)), rng.uniform(0, w, (n, 1))
            if h >= 200:  # flakes two pixels wide in larger frames
                ys = np.concatenate([ys, ys + 1, ys, ys + 1], 1)
                xs = np.concatenate([xs, xs, xs + 1, xs + 1], 1)
            alpha = 0.7
        ok = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
        r, c = ys[ok].astype(np.int32), xs[ok].astype(np.int32)
        img[r, c] = img[r, c] * (1 - alpha) + light * alpha


def _blur(img: np.ndarray) -> np.ndarray:
    """A 3x3 binomial blur (what a video codec and a resize do to edges)."""
    f = img.astype(np.float32)
    p = np.pad(f, ((1, 1), (0, 0), (0, 0)), mode="edge")
    f = (p[:-2] + 2 * p[1:-1] + p[2:]) / 4
    p = np.pad(f, ((0, 0), (1, 1), (0, 0)), mode="edge")
    f = (p[:, :-2] + 2 * p[:, 1:-1] + p[:, 2:]) / 4
    return (f + 0.5).astype(np.uint8)


def training_sample(seed: int, width: int = 128, height: int = 128, classic: bool = False):
    """A scene from `seed` through a random view: aspect 1.2-2.0 (a 16:9 frame squeezed into a
    square input is 1.78), pan, time, sometimes blurred, sometimes mirrored. `classic`: the
    daylight street only, as before the conditions."""
    rng = np.random.default_rng([seed, 0x7a1])
    scene = Scene(seed, classic)
    aspect = rng.uniform(1.2, 2.0)
    cam = scene.vx - aspect / 2 + rng.uniform(-0.6, 0.6)
    img, lab = scene.render(width, height, aspect, cam, rng.uniform(0, 12), noise_seed=seed)
    if rng.random() < 0.4:
        img = _blur(img)
    if rng.random() < 0.5:
        img, lab = img[:, ::-1], lab[:, ::-1]
    return np.ascontiguousarray(img), np.ascontiguousarray(lab)


def test_sample(seed: int, width: int = 256, height: int = 144, classic: bool = False):
    """A held-out frame as a camera would see it: the frame's own aspect, a random pan and
    time, sensor noise; no blur or mirroring."""
    rng = np.random.default_rng([seed, 0x7e57])
    scene = Scene(seed, classic)
    aspect = width / height
    cam = scene.vx - aspect / 2 + rng.uniform(-0.5, 0.5)
    return scene.render(width, height, aspect, cam, rng.uniform(0, 12), noise_seed=seed)
