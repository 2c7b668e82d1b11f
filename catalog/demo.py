"""A believable demo catalog, with product pictures drawn here by Pillow (no network)."""

import io
import random
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.text import slugify
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from catalog.models import Product, StockMovement
from theme import money

IMAGE_SIZE = 800


@dataclass(frozen=True)
class DemoProduct:
    name: str
    description: str
    unit_amount: int  # EUR cents
    stock: int
    shape: str  # a drawing in SHAPES
    colors: tuple[str, str, str]  # background from, background to, object


BASE_PRODUCTS = [
    DemoProduct(
        "Linen Field Notebook",
        "An A5 notebook with 192 dot-grid pages of 100 gsm paper that takes fountain pen "
        "without bleeding. The linen cover softens with use and lies flat on any desk.",
        1850,
        24,
        "notebook",
        ("#e8efe6", "#c9d8c5", "#4f6f52"),
    ),
    DemoProduct(
        "Brass Pocket Pencil",
        "A solid brass mechanical pencil that fits a shirt pocket and lasts a lifetime. "
        "It takes standard 0.7 mm leads and develops a warm patina over the months.",
        2400,
        3,
        "pencil",
        ("#f6ecd9", "#e9d3a9", "#a8782b"),
    ),
    DemoProduct(
        "Kraft Envelopes, Set of 20",
        "Recycled kraft envelopes in C6 size with a gummed flap and a subtle ribbed texture. "
        "They are made for letters that deserve a stamp rather than a send button.",
        950,
        40,
        "envelope",
        ("#f3ece3", "#dcc9b1", "#9a7650"),
    ),
    DemoProduct(
        "Walnut Desk Tray",
        "A low tray turned from a single piece of oiled walnut to keep pens, keys and clips "
        "in one place. Each tray shows its own grain, so no two are alike.",
        3900,
        0,
        "tray",
        ("#efe6df", "#d5c1b2", "#6b4632"),
    ),
    DemoProduct(
        "Enamel Camp Mug",
        "A 350 ml enamel mug with a rolled steel rim that goes from campfire to breakfast "
        "table. It is light, stackable and almost impossible to break.",
        1600,
        30,
        "mug",
        ("#e4eef3", "#bcd5e2", "#2f5d78"),
    ),
    DemoProduct(
        "Stoneware Pour-Over Dripper",
        "A glazed stoneware dripper that holds its heat for an even, unhurried extraction. "
        "It takes size 02 filters and brews one or two cups at a time.",
        3200,
        12,
        "dripper",
        ("#f1ebe4", "#d9cbbd", "#8a6e58"),
    ),
    DemoProduct(
        "Beechwood Spatula",
        "A flat-edged spatula carved from FSC-certified beech, gentle on every pan. "
        "Oil it now and then and it will outlast most of your kitchen.",
        1150,
        50,
        "spatula",
        ("#f5efe2", "#e4d5b5", "#b08a4f"),
    ),
    DemoProduct(
        "Cast Iron Skillet, 20 cm",
        "A pre-seasoned cast iron skillet that sears, bakes and fries on any hob or open fire. "
        "It arrives ready to cook and only gets better with every use.",
        5400,
        8,
        "skillet",
        ("#e9e9ea", "#c9cacd", "#2f3136"),
    ),
    DemoProduct(
        "Waxed Canvas Daypack",
        "A 20 litre daypack in waxed cotton canvas with leather straps and a padded laptop "
        "sleeve. It shrugs off drizzle and looks better the more it is carried.",
        8900,
        6,
        "backpack",
        ("#eef0e4", "#d3d8bb", "#5d6b3a"),
    ),
    DemoProduct(
        "Collapsible Camp Lantern",
        "A rechargeable LED lantern that folds down to the height of a coffee cup. "
        "Three warm light levels run for up to 40 hours on a single charge.",
        2950,
        15,
        "lantern",
        ("#fbf1dd", "#f3d9a4", "#c2772a"),
    ),
    DemoProduct(
        "Merino Trail Socks",
        "Cushioned merino wool socks with a reinforced heel and toe for long days on foot. "
        "They stay warm when wet and fresh for days between washes.",
        1900,
        2,
        "sock",
        ("#f3e6e6", "#e0c3c3", "#8c3d3d"),
    ),
    DemoProduct(
        "Insulated Steel Bottle, 750 ml",
        "A double-walled stainless steel bottle that keeps drinks cold for a day and hot for "
        "twelve hours. The leak-proof cap has a carry loop that fits two fingers.",
        2700,
        20,
        "bottle",
        ("#e3efec", "#b7d6cf", "#2d6b60"),
    ),
]

# Colourways for the numbered variants beyond the base list (--products N).
COLOURWAYS = [
    ("Sage", ("#e8efe6", "#c9d8c5", "#4f6f52")),
    ("Ochre", ("#f8efd8", "#ecd29a", "#a66f12")),
    ("Slate", ("#e6e9ee", "#c3cad6", "#3e4c63")),
    ("Rust", ("#f6e7df", "#e6c0aa", "#9c4a24")),
    ("Fern", ("#e5f0e6", "#bfdcc3", "#2f6e3c")),
    ("Ink", ("#e4e7f1", "#bfc6e0", "#29335c")),
    ("Clay", ("#f4e9e3", "#dfc6b8", "#8d5a45")),
]


@dataclass(frozen=True)
class SeedResult:
    created: int
    sold_out: int
    low_stock: int
    deleted: int
    skipped: bool
    existing: int


def demo_products(count: int) -> list[DemoProduct]:
    """`count` products: the base list, then numbered colourway variants of it."""
    products = []
    for index in range(count):
        base = BASE_PRODUCTS[index % len(BASE_PRODUCTS)]
        round_ = index // len(BASE_PRODUCTS)
        if round_ == 0:
            products.append(base)
            continue
        rng = random.Random(index)  # noqa: S311 (demo data, not security)
        name, colors = COLOURWAYS[(round_ - 1 + index) % len(COLOURWAYS)]
        label = name if round_ <= len(COLOURWAYS) else f"{name} {round_}"
        products.append(
            DemoProduct(
                name=f"{base.name} ({label})",
                description=base.description,
                unit_amount=base.unit_amount + 100 * rng.randint(-3, 5)
                if base.unit_amount > 800
                else base.unit_amount,
                stock=rng.choice([0, 2, 4, 7, 12, 18, 25, 40]),
                shape=base.shape,
                colors=colors,
            )
        )
    return products


@transaction.atomic
def catalog_seed_demo(*, count: int = len(BASE_PRODUCTS), reset: bool = False) -> SeedResult:
    """Fill an empty catalog with `count` demo products, each with a drawn JPEG.

    Idempotent: does nothing when products exist, unless `reset`, which first deletes
    every product and its image (reservations and cart lines go with them; order
    lines keep their snapshot and lose the link). Image files are written through
    the default storage as the rows are made; a rollback leaves them behind.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    deleted = 0
    if reset:
        for product in Product.objects.exclude(image=""):
            product.image.delete(save=False)
        # The demo's own ledger goes with its products; a shop's ledger is never deleted.
        StockMovement.objects.all().delete()
        _, per_model = Product.objects.all().delete()
        deleted = per_model.get(Product._meta.label, 0)
    else:
        existing = Product.objects.count()
        if existing:
            return SeedResult(0, 0, 0, 0, skipped=True, existing=existing)

    rows = []
    currency = money.shop_currency()
    for spec in demo_products(count):
        slug = slugify(spec.name)[:140]
        product = Product(
            name=spec.name,
            slug=slug,
            description=spec.description,
            # The demo's numbers as amounts of the shop's currency (1600: 16.00 EUR,
            # 1,600 JPY, 1.600 KWD), made chargeable (ISK and UGX in whole units).
            unit_amount=money.amount_round(spec.unit_amount, currency),
            currency=currency,
            stock_on_hand=spec.stock,
            is_active=True,
        )
        image = demo_image(initial=spec.name[0], shape=spec.shape, colors=spec.colors)
        product.image.save(f"{slug}.jpg", ContentFile(image), save=False)
        rows.append(product)
    Product.objects.bulk_create(rows)
    StockMovement.objects.bulk_create(
        StockMovement(
            product=product,
            delta=product.stock_on_hand,
            reason=StockMovement.Reason.OPENING,
            note="Demo catalog",
        )
        for product in Product.objects.filter(slug__in=[p.slug for p in rows], stock_on_hand__gt=0)
    )
    return SeedResult(
        created=len(rows),
        sold_out=sum(1 for p in rows if p.stock_on_hand == 0),
        low_stock=sum(1 for p in rows if 0 < p.stock_on_hand <= 5),
        deleted=deleted,
        skipped=False,
        existing=0,
    )


def _rgb(color: str) -> tuple[int, int, int]:
    color = color.lstrip("#")
    return int(color[0:2], 16), int(color[2:4], 16), int(color[4:6], 16)


def _shade(rgb: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    """Lighter above 1, darker below."""
    if factor >= 1:
        r, g, b = (round(c + (255 - c) * (factor - 1)) for c in rgb)
    else:
        r, g, b = (round(c * factor) for c in rgb)
    return r, g, b


def _draw_notebook(d: ImageDraw.ImageDraw, ink, light, dark) -> None:
    d.rounded_rectangle((250, 180, 560, 620), 28, fill=ink)
    d.rounded_rectangle((250, 180, 300, 620), 20, fill=dark)
    d.rectangle((470, 180, 495, 620), fill=light)
    d.rounded_rectangle((340, 260, 450, 300), 8, fill=light)


def _draw_pencil(d, ink, light, dark) -> None:
    d.polygon([(250, 560), (520, 290), (570, 340), (300, 610)], fill=ink)
    d.polygon([(520, 290), (560, 250), (610, 300), (570, 340)], fill=dark)
    d.polygon([(250, 560), (300, 610), (215, 645)], fill=light)
    d.polygon([(229, 612), (248, 631), (215, 645)], fill=dark)


def _draw_envelope(d, ink, light, dark) -> None:
    d.rounded_rectangle((200, 260, 600, 540), 18, fill=ink)
    d.line([(214, 274), (400, 420), (586, 274)], fill=light, width=14, joint="curve")
    d.rounded_rectangle((500, 290, 560, 350), 6, fill=dark)


def _draw_tray(d, ink, light, dark) -> None:
    d.rounded_rectangle((170, 360, 630, 520), 60, fill=dark)
    d.rounded_rectangle((200, 380, 600, 470), 44, fill=ink)
    d.line([(250, 410), (550, 410)], fill=light, width=6)
    d.line([(280, 440), (520, 440)], fill=light, width=6)


def _draw_mug(d, ink, light, dark) -> None:
    d.ellipse((480, 330, 610, 490), outline=ink, width=34)
    d.rounded_rectangle((240, 280, 520, 580), 30, fill=ink)
    d.rectangle((240, 280, 520, 310), fill=dark)
    d.ellipse((330, 390, 430, 470), fill=light)


def _draw_dripper(d, ink, light, dark) -> None:
    d.polygon([(220, 300), (580, 300), (470, 520), (330, 520)], fill=ink)
    d.rounded_rectangle((200, 280, 600, 320), 14, fill=dark)
    d.rounded_rectangle((290, 520, 510, 560), 14, fill=dark)
    d.ellipse((365, 560, 435, 600), fill=light)


def _draw_spatula(d, ink, light, dark) -> None:
    d.rounded_rectangle((370, 330, 430, 660), 26, fill=dark)
    d.rounded_rectangle((310, 150, 490, 370), 70, fill=ink)
    d.line([(370, 200), (370, 320)], fill=light, width=10)
    d.line([(430, 200), (430, 320)], fill=light, width=10)


def _draw_skillet(d, ink, light, dark) -> None:
    d.rounded_rectangle((500, 370, 690, 430), 26, fill=dark)
    d.ellipse((150, 230, 520, 580), fill=ink)
    d.ellipse((190, 270, 480, 540), fill=dark)
    d.arc((220, 300, 450, 510), 200, 260, fill=light, width=10)


def _draw_backpack(d, ink, light, dark) -> None:
    d.arc((320, 150, 480, 300), 180, 360, fill=dark, width=26)
    d.rounded_rectangle((240, 220, 560, 640), 80, fill=ink)
    d.rounded_rectangle((290, 440, 510, 600), 40, fill=dark)
    d.rounded_rectangle((370, 300, 430, 420), 12, fill=light)


def _draw_lantern(d, ink, light, dark) -> None:
    d.arc((320, 130, 480, 280), 180, 360, fill=dark, width=18)
    d.rounded_rectangle((290, 200, 510, 250), 16, fill=dark)
    d.rounded_rectangle((310, 250, 490, 560), 40, fill=ink)
    d.ellipse((350, 320, 450, 480), fill=light)
    d.rounded_rectangle((280, 560, 520, 610), 16, fill=dark)


def _draw_sock(d, ink, light, dark) -> None:
    d.polygon([(330, 170), (470, 170), (470, 470), (330, 470)], fill=ink)
    d.rounded_rectangle((330, 400, 640, 560), 80, fill=ink)
    d.rectangle((330, 170, 470, 230), fill=dark)
    d.ellipse((560, 440, 650, 560), fill=dark)
    d.line([(340, 260), (460, 260)], fill=light, width=8)


def _draw_bottle(d, ink, light, dark) -> None:
    d.rounded_rectangle((350, 130, 450, 210), 16, fill=dark)
    d.rounded_rectangle((300, 200, 500, 660), 60, fill=ink)
    d.rounded_rectangle((330, 330, 470, 470), 20, fill=light)


SHAPES = {
    "notebook": _draw_notebook,
    "pencil": _draw_pencil,
    "envelope": _draw_envelope,
    "tray": _draw_tray,
    "mug": _draw_mug,
    "dripper": _draw_dripper,
    "spatula": _draw_spatula,
    "skillet": _draw_skillet,
    "backpack": _draw_backpack,
    "lantern": _draw_lantern,
    "sock": _draw_sock,
    "bottle": _draw_bottle,
}


def demo_image(*, initial: str, shape: str, colors: tuple[str, str, str]) -> bytes:
    """An 800×800 JPEG: a soft diagonal gradient, the object with a blurred shadow,
    and the product's initial in a corner."""
    start, end, ink = (_rgb(c) for c in colors)
    # A diagonal mask (the mean of a vertical and a horizontal ramp) blends the two
    # background colours smoothly.
    ramp = Image.linear_gradient("L").resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BICUBIC)
    mask = ImageChops.add(ramp, ramp.transpose(Image.Transpose.ROTATE_90), scale=2)
    image = Image.composite(
        Image.new("RGB", mask.size, end), Image.new("RGB", mask.size, start), mask
    )

    draw_shape = SHAPES.get(shape, _draw_notebook)
    shadow = Image.new("L", (IMAGE_SIZE, IMAGE_SIZE), 0)
    draw_shape(ImageDraw.Draw(shadow), 255, 255, 255)
    shadow = shadow.filter(ImageFilter.GaussianBlur(22)).point(lambda v: v * 0.28)
    offset = Image.new("L", shadow.size, 0)
    offset.paste(shadow, (14, 26))
    image.paste(_shade(ink, 0.45), mask=offset)

    draw = ImageDraw.Draw(image)
    draw_shape(draw, ink, _shade(ink, 1.55), _shade(ink, 0.72))

    font = ImageFont.load_default(size=88)
    draw.rounded_rectangle((40, 40, 150, 150), 28, fill=_shade(end, 1.35))
    draw.text((95, 97), initial.upper(), font=font, fill=ink, anchor="mm")

    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, subsampling=0, optimize=True, progressive=True)
    return out.getvalue()
