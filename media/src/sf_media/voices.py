"""List the installed offline voices: `python -m sf_media.voices [--json]`.

The CLI may not import the media library (an import-linter contract), so `sf voices` can run this
module instead; it prints one line (or one JSON object) per voice: name, language, quality.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass

from sf_media.errors import SpeechError
from sf_media.speech import DEFAULT_VOICE, available_voices


@dataclass(frozen=True, slots=True)
class VoiceInfo:
    name: str
    language: str  # e.g. en_US
    quality: str  # Piper's own label: x_low, low, medium, high
    default: bool


def voice_infos() -> list[VoiceInfo]:
    """Every installed voice, described from its Piper config (the default first)."""
    infos = []
    for name, load in sorted(available_voices().items(), key=lambda item: item[0] != DEFAULT_VOICE):
        _model, config_path = load()
        config = json.loads(config_path.read_text(encoding="utf-8"))
        language = str(config.get("language", {}).get("code", "unknown"))
        quality = str(config.get("audio", {}).get("quality", "unknown"))
        infos.append(VoiceInfo(name, language, quality, name == DEFAULT_VOICE))
    return infos


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sf_media.voices", description=__doc__)
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args(argv)
    try:
        infos = voice_infos()
    except (SpeechError, OSError, ValueError) as exc:
        sys.stderr.write(f"sf: error: {exc}\n")
        return 1
    for info in infos:
        if args.json:
            sys.stdout.write(json.dumps(asdict(info)) + "\n")
        else:
            mark = " (default)" if info.default else ""
            sys.stdout.write(f"{info.name}\t{info.language}\t{info.quality}{mark}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
