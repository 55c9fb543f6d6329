# The image step of an upload done with Pillow, for `npm run bench` to compare sharp against
# (issue 9): draft-mode shrink-on-load, EXIF orientation, a centre fit to the largest square, one
# WebP save per size. Prints the median milliseconds of RUNS renders after one warm-up.
#   python3 scripts/bench-pillow.py FILE RUNS SIZES [decode]   (SIZES: comma-separated, e.g. 64,200,512)
# With `decode`, only the draft-mode decode is timed (open, draft, load), for the bench's breakdown.
import io
import statistics
import sys
import time

from PIL import Image, ImageOps

path, runs, sizes = sys.argv[1], int(sys.argv[2]), [int(size) for size in sys.argv[3].split(',')]
data = open(path, 'rb').read()
largest = max(sizes)
decode_only = len(sys.argv) > 4 and sys.argv[4] == 'decode'


def render():
    image = Image.open(io.BytesIO(data))
    if image.format == 'JPEG':
        image.draft('RGB', (largest, largest))  # libjpeg's DCT scaling, like sharp's shrink-on-load
    if decode_only:
        image.load()
        return image
    image = ImageOps.exif_transpose(image).convert('RGB')
    square = ImageOps.fit(image, (largest, largest), Image.LANCZOS)
    encoded = []
    for size in sizes:
        variant = square if size == largest else square.resize((size, size), Image.LANCZOS)
        out = io.BytesIO()
        variant.save(out, 'WEBP', quality=80)
        encoded.append(out.getvalue())
    return encoded


render()
times = []
for _ in range(runs):
    started = time.perf_counter()
    render()
    times.append((time.perf_counter() - started) * 1000)
print(f'{statistics.median(times):.3f}')
