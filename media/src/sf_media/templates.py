"""Words for the offline template writer: themes picked from the topic, and sentence frames to fill.

A theme gives concrete vocabulary (things to look at, places, sounds, light, textures) so that a
script about tide pools talks about rock pools and crabs, and one about the moon about craters and
starlight. Frames are full sentences with slots: `{topic}` (as typed), `{Topic}` (first letter
capitalised, for the start of a sentence) and the theme's `{thing}`, `{place}`, `{sound}`, `{light}`,
`{texture}` (capitalised forms too). Frames never make `{topic}` the subject of a present-tense verb
(singular or plural topics would need different verbs), and a frame that may follow an opener starts
with a lower-case word, so "Gently, " + frame reads as one sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Theme:
    keywords: tuple[str, ...]
    things: tuple[str, ...]
    places: tuple[str, ...]
    sounds: tuple[str, ...]
    lights: tuple[str, ...]
    textures: tuple[str, ...]


THEMES: dict[str, Theme] = {
    "sea": Theme(
        keywords=(
            "sea",
            "ocean",
            "tide",
            "pool",
            "beach",
            "coast",
            "shore",
            "wave",
            "coral",
            "reef",
            "fish",
            "whale",
            "shell",
            "island",
            "harbour",
            "harbor",
            "lighthouse",
            "sail",
            "boat",
            "crab",
            "lake",
            "river",
        ),
        things=(
            "the smooth stones",
            "a small crab",
            "the drifting seaweed",
            "the rippled sand",
            "the shallow pools",
            "a scattering of shells",
            "the foam at the water's edge",
            "the barnacles on the rocks",
        ),
        places=(
            "the shoreline",
            "a quiet cove",
            "the rocky ledge",
            "the edge of the water",
            "the old harbour wall",
            "the low dunes",
        ),
        sounds=(
            "the slow wash of the waves",
            "water trickling between the rocks",
            "a gull far out over the water",
            "the tide turning",
            "the hush of the surf",
        ),
        lights=(
            "the last light on the water",
            "a silver shimmer on the waves",
            "the pale evening sky",
            "the soft glow of the horizon",
        ),
        textures=(
            "cool, wet sand",
            "smooth, rounded pebbles",
            "soft, salty air",
            "the gentle pull of the water",
        ),
    ),
    "forest": Theme(
        keywords=(
            "forest",
            "tree",
            "wood",
            "moss",
            "fern",
            "leaf",
            "leaves",
            "mushroom",
            "fung",
            "garden",
            "flower",
            "plant",
            "meadow",
            "bird",
            "owl",
            "deer",
            "fox",
            "mountain",
            "valley",
            "autumn",
        ),
        things=(
            "the moss on the old stones",
            "a fallen branch",
            "the ferns",
            "the roots of an old oak",
            "a carpet of leaves",
            "the mushrooms at the foot of a tree",
            "the tall pines",
            "a quiet clearing",
        ),
        places=(
            "the edge of the woods",
            "a narrow path between the trees",
            "a quiet clearing",
            "the mossy bank",
            "the foot of the hill",
            "the old stone wall",
        ),
        sounds=(
            "leaves rustling overhead",
            "a distant owl",
            "the creak of the branches",
            "a stream somewhere nearby",
            "the wind moving through the pines",
        ),
        lights=(
            "dappled light between the leaves",
            "the green shade under the trees",
            "the golden evening light",
            "the first stars above the treetops",
        ),
        textures=(
            "soft, damp moss",
            "the rough bark of the trees",
            "cool, earthy air",
            "a thick bed of leaves",
        ),
    ),
    "sky": Theme(
        keywords=(
            "moon",
            "star",
            "planet",
            "space",
            "galaxy",
            "sun",
            "comet",
            "orbit",
            "astronom",
            "universe",
            "nebula",
            "mars",
            "jupiter",
            "saturn",
            "eclipse",
            "sky",
            "cosmos",
            "black hole",
            "telescope",
        ),
        things=(
            "the craters of the moon",
            "a faint, distant star",
            "the rings of Saturn",
            "a slow comet",
            "the band of the Milky Way",
            "the dark between the stars",
            "a pale crescent",
            "a far-off planet",
        ),
        places=(
            "a quiet hilltop at night",
            "the dark open field",
            "the observatory dome",
            "the edge of the sky",
            "a still, cold night",
            "the silent space between the planets",
        ),
        sounds=(
            "the deep quiet of the night",
            "a soft breeze in the grass",
            "the faint hum of the night",
            "crickets in the dark field",
        ),
        lights=(
            "silver moonlight",
            "the faint glow of the stars",
            "the last blue light of dusk",
            "a pale shimmer across the sky",
        ),
        textures=(
            "cool night air",
            "a warm blanket around your shoulders",
            "the soft grass beneath you",
            "the stillness of the night",
        ),
    ),
    "weather": Theme(
        keywords=(
            "rain",
            "storm",
            "snow",
            "cloud",
            "wind",
            "weather",
            "fog",
            "mist",
            "thunder",
            "winter",
            "ice",
            "frost",
            "monsoon",
            "hurricane",
            "drizzle",
        ),
        things=(
            "the raindrops on the window",
            "a grey, heavy cloud",
            "the first snowflakes",
            "the puddles in the lane",
            "a curtain of mist",
            "the frost on the glass",
            "the gutters overflowing",
            "a slow drift of fog",
        ),
        places=(
            "a warm room by the window",
            "the covered porch",
            "a quiet street in the rain",
            "the misty valley",
            "a cabin in the snow",
            "the sheltered doorway",
        ),
        sounds=(
            "rain pattering on the roof",
            "the soft hiss of the rain",
            "a distant roll of thunder",
            "wind moving around the house",
            "water dripping from the eaves",
        ),
        lights=(
            "the grey light of a rainy afternoon",
            "a lamp glowing in the window",
            "the soft white light of snow",
            "the dim light behind the clouds",
        ),
        textures=(
            "a thick, warm blanket",
            "cool, damp air",
            "the warmth of a mug in your hands",
            "a soft pillow beneath your head",
        ),
    ),
    "land": Theme(
        keywords=(
            "volcan",
            "lava",
            "desert",
            "canyon",
            "cave",
            "rock",
            "crystal",
            "fossil",
            "dinosaur",
            "earthquake",
            "glacier",
            "geolog",
            "mineral",
            "sand dune",
            "cliff",
        ),
        things=(
            "the layers of old rock",
            "a cooled river of lava",
            "the glittering crystals",
            "a fossil in the stone",
            "the ash-grey slopes",
            "the boulders",
            "the deep cracks in the ground",
            "a wide, silent crater",
        ),
        places=(
            "the foot of the mountain",
            "a quiet canyon",
            "the rim of the crater",
            "the mouth of a cave",
            "the open desert",
            "a windswept ridge",
        ),
        sounds=(
            "the wind over bare rock",
            "stones settling somewhere below",
            "a low, distant rumble",
            "sand shifting in the breeze",
            "water dripping in a cave",
        ),
        lights=(
            "the red glow of evening on the rocks",
            "the last warm light on the ridge",
            "the cool blue light of dusk",
            "starlight over the desert",
        ),
        textures=(
            "warm, rough stone",
            "fine, dry sand",
            "the cool air of the evening",
            "the solid ground beneath you",
        ),
    ),
    "city": Theme(
        keywords=(
            "city",
            "town",
            "train",
            "railway",
            "station",
            "library",
            "book",
            "castle",
            "empire",
            "rome",
            "history",
            "ancient",
            "war",
            "king",
            "queen",
            "museum",
            "map",
            "bridge",
            "building",
            "street",
        ),
        things=(
            "the old maps",
            "a worn stone staircase",
            "the long shelves of books",
            "a clock tower",
            "the arches of an old bridge",
            "the faded photographs",
            "the cobbled streets",
            "the carved doorways",
        ),
        places=(
            "the old town square",
            "a quiet reading room",
            "the empty station platform",
            "a narrow side street",
            "the top of the city walls",
            "the museum's long gallery",
        ),
        sounds=(
            "footsteps on old stone",
            "a distant church bell",
            "the slow rumble of a passing train",
            "pages turning softly",
            "the murmur of the evening street",
        ),
        lights=(
            "lamplight on the cobbles",
            "the warm glow of the windows",
            "the amber light of evening",
            "the soft light of a reading lamp",
        ),
        textures=(
            "the smooth, worn stone",
            "the weight of an old book",
            "the warm evening air",
            "the soft leather of an old armchair",
        ),
    ),
}

GENERIC = Theme(
    keywords=(),
    things=(
        "the smallest details",
        "the first clues",
        "the simple parts",
        "the hidden patterns",
        "the everyday examples",
        "the quiet changes",
        "the oldest records",
        "the clearest examples",
    ),
    places=(
        "a quiet room",
        "a slow, winding path",
        "the end of a long day",
        "a calm and familiar place",
        "a window seat",
        "a sheltered garden",
    ),
    sounds=(
        "a soft, steady hush",
        "the quiet ticking of a clock",
        "a gentle breeze outside",
        "the distant murmur of the evening",
    ),
    lights=(
        "the soft evening light",
        "a warm lamp in the corner",
        "the fading glow of dusk",
        "a gentle, golden light",
    ),
    textures=(
        "a warm blanket",
        "a soft pillow",
        "the steady rhythm of your breathing",
        "the calm, still air",
    ),
)


# Slots every theme shares: who looks at a topic, from which field, when; and for calm scripts, the
# body the listener relaxes and the pace of it.
PEOPLE = (
    "scientists",
    "historians",
    "children",
    "artists",
    "engineers",
    "sailors",
    "farmers",
    "photographers",
    "teachers",
    "travellers",
    "writers",
    "naturalists",
)
FIELDS = (
    "history",
    "biology",
    "chemistry",
    "art",
    "music",
    "engineering",
    "mathematics",
    "everyday life",
    "economics",
    "language",
    "medicine",
    "geography",
)
TIMES = (
    "a hundred years ago",
    "in the last decade",
    "at dawn",
    "in winter",
    "over a single afternoon",
    "across whole centuries",
    "late at night",
    "after a storm",
    "through a microscope",
    "from far away",
)
BODY = (
    "your shoulders",
    "your hands",
    "your forehead",
    "your jaw",
    "your arms",
    "your legs",
    "your feet",
    "your back",
    "your neck",
    "your eyelids",
    "your chest",
    "your fingers",
)
PACES = ("slowly", "softly", "gently", "quietly", "easily", "little by little")


def theme_for(topic: str) -> Theme:
    """The theme whose keywords the topic mentions (the first listed wins; the generic one if none)."""
    lowered = topic.lower()
    for theme in THEMES.values():
        # At the start of a word: "ice" finds "icebergs" but not "police", "fung" finds "fungi".
        if any(re.search(rf"\b{re.escape(keyword)}", lowered) for keyword in theme.keywords):
            return theme
    return GENERIC


TITLES: dict[str, tuple[str, ...]] = {
    "short": (
        "{Topic} in under a minute",
        "What nobody tells you about {topic}",
        "{Topic}: the quick version",
    ),
    "longform": (
        "{Topic}, explained",
        "Everything worth knowing about {topic}",
        "A patient guide to {topic}",
    ),
    "sleepy": ("Drift off with {topic}", "A quiet evening with {topic}", "Falling asleep to {topic}"),
}

# Chapter names: one pool per position for shorts, an ordered list for longform and sleepy.
SHORT_HEADINGS: tuple[tuple[str, ...], ...] = (
    ("{Topic} at a glance", "Meet {topic}", "{Topic}, up close"),
    ("A closer look at {thing}", "Inside {place}", "What hides in plain sight"),
    ("The case for {topic}", "What {topic} can teach us", "The next time you see {topic}"),
)
LONGFORM_HEADINGS: tuple[str, ...] = (
    "The beginnings of {topic}",
    "The workings of {topic}",
    "{Thing} up close",
    "Common myths about {topic}",
    "The people who study {topic}",
    "A visit to {place}",
    "{Topic} through the seasons",
    "Small details that matter",
    "What {topic} can teach us",
    "Looking ahead",
)
SLEEPY_HEADINGS: tuple[str, ...] = (
    "Arriving at {place}",
    "{Light}",
    "Listening to {sound}",
    "Resting near {thing}",
    "Deeper into {place}",
    "{Topic} at night",
    "{Texture}",
    "Almost asleep",
)

HOOKS: tuple[str, ...] = (
    "Here is something about {topic} that most people never notice.",
    "You have probably seen {topic} before, but not like this.",
    "Give me one minute and {topic} will never look the same.",
    "{Topic} can be stranger than you might expect.",
    "Look closer at {topic}: there is more here than you think.",
)
OUTROS: tuple[str, ...] = (
    "So next time you come across {topic}, take a second look.",
    "That is {topic} in a nutshell, and there is always more to discover.",
    "Follow along for more stories like this one.",
)

# Openers end with a comma or colon, so the frame after them starts in lower case.
OPENERS: tuple[str, ...] = (
    "Here is the interesting part:",
    "Put simply,",
    "Surprisingly,",
    "On a closer look,",
    "In fact,",
    "Keep in mind that",
    "It turns out that",
    "Most people never notice that",
    "In practice,",
)
FACTS: tuple[str, ...] = (
    "{topic} can look simple from a distance, but there are many moving parts.",
    "the story of {topic} starts long before most people realise.",
    "small changes in {topic} can have surprisingly large effects.",
    "the best way to understand {topic} is to watch {thing} slowly and patiently.",
    "no two examples of {topic} are quite the same.",
    "each answer about {topic} raises a new question.",
    "there are patterns in {topic} that repeat at every scale.",
    "{topic} can depend on a balance that is easy to disturb.",
    "the details of {topic} matter more than the headlines suggest.",
    "much of what we know about {topic} came from careful, patient observation.",
    "{topic} can change with the seasons, the weather and the time of day.",
    "the vocabulary around {topic} can hide how intuitive it really is.",
    "experts still argue about some of the finer points of {topic}.",
    "{topic} can connect to other subjects in unexpected ways.",
    "one good example of {topic} can teach more than a long list of rules.",
    "the history of {topic} is full of happy accidents.",
    "people have been fascinated by {topic} for a very long time.",
    "what looks like noise in {topic} usually has a reason behind it.",
    "the simplest questions about {topic} are often the hardest to answer.",
    "there is more than one way to look at {topic}, and each one is useful.",
    "the tools for studying {topic} have improved enormously in recent years.",
    "there is a rhythm to {topic} once you learn to notice it.",
    "the limits of {topic} are just as interesting as its strengths.",
    "many myths about {topic} fall apart under a careful look.",
    "{thing} can tell you more about {topic} than any summary.",
    "a few minutes spent with {thing} can change how you see {topic}.",
    "{place} is one of the best places to see {topic} for yourself.",
    "you can learn a lot about {topic} just by listening to {sound}.",
    "{thing} and {topic} are more closely linked than they seem.",
    "anyone who spends an afternoon at {place} starts to understand {topic}.",
    "the future of {topic} depends on choices people make today.",
    "even experts can be surprised by {topic}.",
    # Frames with two slots: enough combinations for a long explainer without a repeat.
    "{people} have looked at {topic} very differently {time}.",
    "what {people} notice first about {topic} is often {thing}.",
    "the link between {topic} and {field} is older than it looks.",
    "{people} often use {topic} to explain ideas from {field}.",
    "if you ask {people} about {topic}, they will probably mention {thing}.",
    "seen {time}, {topic} can look completely different.",
    "{people} and {people2} rarely agree about {topic}, and both have a point.",
    "there is a whole branch of {field} that grew out of questions about {topic}.",
    "for {people}, {topic} is a reminder of how much {field} still has to explain.",
    "a visit to {place} {time} shows {topic} at its most surprising.",
    "{people} who spend time at {place} tend to see {topic} in a new light.",
    "the questions {people} ask about {topic} say a lot about {field}.",
    "studying {thing} {time} can reveal what really drives {topic}.",
    "it takes patience to watch {thing} {time}, but {topic} rewards it.",
    "ideas from {field} help explain how {thing} and {topic} fit together.",
    "{people} once thought {topic} was simple; {field} showed otherwise.",
    "nobody fully understands {topic} yet, and that is part of the appeal.",
)

CALM_OPENERS: tuple[str, ...] = ("Now,", "Gently,", "Softly now,", "And slowly,", "For a while,", "In time,")
CALM: tuple[str, ...] = (
    "let your breathing slow down as you drift toward {topic}.",
    "there is nothing you need to remember, so let the words float by.",
    "imagine {place}, soft and quiet in {light}.",
    "your shoulders can relax now, and your hands can rest.",
    "think of {topic} as patient and unhurried, as if time itself has slowed.",
    "picture {thing}, resting quietly, almost still.",
    "each breath is a little longer and a little softer than the last.",
    "let {sound} fade into a soft, even hush.",
    "there is no rush tonight, and nowhere else to be.",
    "the day is over, and it is perfectly fine to let it go.",
    "notice how heavy and comfortable your body feels right now.",
    "let {topic} drift a little further away.",
    "if a thought comes along, let it pass like a cloud.",
    "you can hear {sound}, far away and unhurried.",
    "imagine walking slowly through {place}, one easy step at a time.",
    "every sound becomes softer, and every moment a little slower.",
    "you are safe, you are warm, and you can rest.",
    "tomorrow {topic} will still be there, so there is nothing to hold on to.",
    "let your eyes grow heavy, and let the quiet settle in.",
    "a slow, steady calm spreads from your head to your toes.",
    "far away, the edges of {thing} blur into a gentle haze.",
    "breathe in slowly, and breathe out even more slowly.",
    "you might feel {texture}, and let it carry you a little deeper.",
    "{light} settles over {place}, and everything grows still.",
    "somewhere close by, you sense {thing}, quiet and content.",
    "all you need to do is listen to {sound}.",
    "let your thoughts settle like leaves on still water.",
    "the quiet around {place} is deep and kind.",
    "your breathing matches the slow rhythm of {sound}.",
    "in your mind, you rest beside {thing} and watch {light} fade.",
    "nothing here asks anything of you.",
    # Frames with two slots: an hour of calm without a repeat.
    "let {body} grow soft and heavy.",
    "notice {body}, and let any tension melt away.",
    "with each breath, let {body} relax a little more.",
    "feel a gentle warmth spreading through {body}.",
    "imagine {sound} drifting over {place}.",
    "{light} rests on {thing}, soft and still.",
    "let {body} sink a little deeper, {pace}.",
    "you drift toward {place}, {pace}, with nothing to do.",
    "listen to {sound}, and let {body} soften.",
    "picture {thing} in {light}, and let your breathing slow.",
    "{pace}, the quiet of {place} wraps around you.",
    "there is only {sound} and the slow rise and fall of your breath.",
)
