"""Sentence banks for the template script writer: generic lines that read sensibly for any topic.

Placeholders: `{topic}` (as the user typed it) and `{Topic}` (capitalised). Lines are combined with
optional openers, which gives hundreds of distinct sentences before anything repeats, enough for a
17-minute explainer. An LLM-backed writer replaces all of this later; keep it plain and deterministic.
"""

from __future__ import annotations

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
    "sleepy": (
        "Drift off with {topic}",
        "A quiet evening with {topic}",
        "Falling asleep to {topic}",
    ),
}

HEADINGS: dict[str, tuple[str, ...]] = {
    "short": ("The hook", "The surprising part", "Why it matters"),
    "longform": (
        "Where it begins",
        "The basics",
        "How it works",
        "A closer look",
        "Common misunderstandings",
        "The people involved",
        "Small details that matter",
        "Why it matters",
        "What comes next",
        "Looking back",
    ),
    "sleepy": (
        "Settling in",
        "A slow walk",
        "Quiet details",
        "The evening light",
        "Drifting further",
        "Resting",
        "Deep and still",
        "Almost asleep",
    ),
}

HOOKS: tuple[str, ...] = (
    "Here is something about {topic} that most people never stop to notice.",
    "You have probably seen {topic} before, but not like this.",
    "Give me one minute and {topic} will never look the same to you.",
    "{Topic} can be stranger and more interesting than it first appears.",
    "Quick facts about {topic}.",
)

OUTROS: tuple[str, ...] = (
    "So next time you come across {topic}, take a second look.",
    "That is {topic} in a nutshell, and there is always more to discover.",
    "Follow along for more stories like this one about {topic}.",
)

OPENERS: tuple[str, ...] = (
    "",
    "Here is the interesting part:",
    "It is easy to miss that",
    "Think about it this way:",
    "People who study it will tell you that",
    "On a closer look,",
    "Surprisingly,",
    "Put simply,",
    "It turns out that",
    "Keep in mind that",
)

FACTS: tuple[str, ...] = (
    "from a distance, {topic} can look simple, but there are many moving parts.",
    "the story of {topic} starts long before most people realise.",
    "small changes in {topic} can have surprisingly large effects.",
    "{topic} quietly shaped the world around it in small, steady ways.",
    "the best way to understand {topic} is to watch it slowly and patiently.",
    "every example of {topic} is a little different from the last one.",
    "curiosity about {topic} pays off, because each answer raises a new question.",
    "there are patterns in {topic} that repeat at every scale.",
    "{topic} can depend on a balance that is easy to disturb.",
    "the details of {topic} matter more than the headlines suggest.",
    "much of what we know about {topic} came from careful, patient observation.",
    "{topic} can change with the seasons, the weather and the time of day.",
    "the vocabulary around {topic} can hide how intuitive it really is.",
    "experts still disagree about some of the finer points of {topic}.",
    "{topic} can connect to many other subjects in unexpected ways.",
    "a single good example of {topic} can teach more than a long list of rules.",
    "the history of {topic} is full of happy accidents.",
    "{topic} can work best when nobody is paying attention to it.",
    "people have been fascinated by {topic} for a very long time.",
    "what seems like noise in {topic} usually has a reason behind it.",
    "the simplest questions about {topic} are often the hardest to answer.",
    "{topic} can remind us that ordinary things can be remarkable.",
    "there is more than one way to look at {topic}, and each one is useful.",
    "the tools for studying {topic} have improved enormously in recent years.",
    "there is a rhythm to {topic} once you learn to notice it.",
    "the limits of {topic} are just as interesting as its strengths.",
    "many myths about {topic} fall apart under a careful look.",
    "it is easiest to appreciate {topic} up close and in person.",
    "even a few minutes spent on {topic} can change how you see it.",
    "the future of {topic} depends on the choices people make today.",
    "{topic} can surprise even the experts.",
    "nobody fully understands {topic} yet.",
    "{topic} is worth a closer look.",
)

CALM: tuple[str, ...] = (
    "Let your breathing slow down as we drift toward {topic}.",
    "There is nothing you need to remember, so just let the words float by.",
    "Imagine {topic} far away, soft and quiet in the evening light.",
    "Your shoulders can relax now, and your hands can rest.",
    "Think of {topic} as patient and unhurried, as if time itself has slowed.",
    "Picture the gentle shapes of {topic}, moving slowly, almost still.",
    "Each breath is a little longer and a little softer than the last.",
    "Somewhere, {topic} can rest too, calm and untroubled.",
    "Let the sounds around you fade into a soft, even hush.",
    "There is no rush tonight, and nowhere else to be.",
    "Think of {topic} the way you would think of a warm blanket.",
    "The day is over, and it is perfectly fine to let it go.",
    "Notice how heavy and comfortable your body feels right now.",
    "Slowly, quietly, let {topic} drift a little further away.",
    "If a thought comes along, let it pass like a cloud.",
    "The light is dim and soft, and everything is still.",
    "Imagine walking slowly beside {topic}, one easy step at a time.",
    "Every sound becomes softer, and every moment a little slower.",
    "You are safe, you are warm, and you can rest.",
    "Tomorrow {topic} will still be there, so there is nothing to hold on to.",
    "Let your eyes grow heavy, and let the quiet settle in.",
    "A slow, steady calm is spreading from your head to your toes.",
    "Far away, the edges of {topic} blur into a gentle haze.",
    "Breathe in slowly, and breathe out even more slowly.",
    "Rest now.",
    "Everything is quiet.",
    "Breathe in, and let it go.",
    "Softly, softly.",
    "Let the day fall away.",
)

CALM_OPENERS: tuple[str, ...] = ("", "", "", "Now,", "Gently,", "Softly now,", "And slowly,", "For a while,")
