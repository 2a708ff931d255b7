"""What the LLM script writer asks: one system prompt per format, and the JSON shapes it must answer in.

A script is asked for whole when it is short; otherwise an outline first (title, description, tags,
section titles with a one-line plan each) and then one request per section, each carrying only the
outline and the previous section's last lines, so no request grows with the length of the video.
"""

from __future__ import annotations

from collections.abc import Sequence

from sf_media.formats import Format

# Bump when the wording changes: saved drafts from another version are not reused.
PROMPT_VERSION = 1

STYLE: dict[Format, str] = {
    Format.SHORT: (
        "You write narration for vertical short videos (YouTube Shorts, TikTok). The first sentence is a "
        "hook a viewer hears within two seconds: at most ten words, concrete and surprising, never a "
        "greeting. Then short, vivid sentences, one idea each, with specific facts. End with a line that "
        "rewards watching to the end."
    ),
    Format.LONGFORM: (
        "You write narration for a calm, well-researched explainer video. Organise it into sections, each "
        "a chapter with a clear name. Sentences are spoken aloud: plain words, varied length, concrete "
        "examples and facts, no lists or headings read out. Open with why the topic is worth the viewer's "
        "time and close with a short summary."
    ),
    Format.SLEEPY: (
        "You write narration for a sleep story that helps an adult fall asleep. Speak to the listener as "
        "'you', slowly and gently, in the present tense. Use soft sensory detail (warmth, dim light, quiet "
        "sounds, textures, slow breathing) and simple, flowing sentences. Nothing exciting, surprising, "
        "frightening or urgent; no questions that demand thought, no numbers or dates, no calls to action."
    ),
}

RULES = (
    "Write for text-to-speech: full sentences, no emoji, no markdown, no stage directions, no URLs, no "
    "sound effects in brackets. Never repeat a sentence. Answer with one JSON object and nothing else."
)

WHOLE_SHAPE = (
    '{"title": "video title, at most 70 characters", "description": "two sentences for the upload page", '
    '"tags": ["5 to 10 search tags"], "sections": [{"title": "chapter name", "sentences": ["...", "..."]}]}'
)
OUTLINE_SHAPE = (
    '{"title": "video title, at most 70 characters", "description": "two sentences for the upload page", '
    '"tags": ["5 to 10 search tags"], "sections": [{"title": "chapter name", "plan": "what it covers"}]}'
)
SECTION_SHAPE = '{"sentences": ["...", "..."]}'


def system_message(fmt: Format) -> dict[str, str]:
    return {"role": "system", "content": f"{STYLE[fmt]} {RULES}"}


def whole_messages(topic: str, fmt: Format, words: int, sections: int) -> list[dict[str, str]]:
    ask = (
        f"Topic: {topic}\n"
        f"Write the complete narration: about {words} words in total, in {sections} section"
        f"{'s' if sections > 1 else ''} with real chapter names (not 'Introduction' or 'The hook').\n"
        f"Answer in this JSON shape: {WHOLE_SHAPE}"
    )
    return [system_message(fmt), {"role": "user", "content": ask}]


def outline_messages(topic: str, fmt: Format, words: int, sections: int) -> list[dict[str, str]]:
    ask = (
        f"Topic: {topic}\n"
        f"Plan a narration of about {words} words in exactly {sections} sections. Give each section a real "
        "chapter name (not 'Introduction' or 'Part 1') and a one-sentence plan; sections must not overlap.\n"
        f"Answer in this JSON shape: {OUTLINE_SHAPE}"
    )
    return [system_message(fmt), {"role": "user", "content": ask}]


def section_messages(
    topic: str,
    fmt: Format,
    outline: Sequence[tuple[str, str]],
    *,
    index: int,
    words: int,
    previous: Sequence[str],
) -> list[dict[str, str]]:
    """Section `index` of `outline` ((title, plan) pairs), following on from `previous` sentences."""
    listing = "\n".join(f"{n}. {title}: {plan}" for n, (title, plan) in enumerate(outline, start=1))
    title, plan = outline[index]
    position = "first" if index == 0 else "last" if index == len(outline) - 1 else "next"
    before = " ".join(previous) if previous else "(this is the beginning)"
    ask = (
        f"Topic: {topic}\nOutline:\n{listing}\n\n"
        f"The previous section ended: {before}\n\n"
        f"Write the {position} section, {index + 1}. {title!r} ({plan}): about {words} words, continuing "
        "smoothly without repeating anything said before.\n"
        f"Answer in this JSON shape: {SECTION_SHAPE}"
    )
    return [system_message(fmt), {"role": "user", "content": ask}]
