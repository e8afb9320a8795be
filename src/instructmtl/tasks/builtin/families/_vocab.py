"""Fixed English word lists the string, word and sentiment families draw from.

Hand-written rather than taken from a lexicon package: the suite must be
identical on every machine and offline, and a tiny model needs short, common,
lower-case words whose transformations (plural, antonym, past tense) are
unambiguous.
"""

from __future__ import annotations

#: Short common words (3-7 letters, lower case, distinct) for string tasks.
WORDS: tuple[str, ...] = tuple(
    """
    apple river stone house table chair water light green bread music paper plant cloud
    horse mouse tiger lemon grape peach honey sugar salt candle window garden forest
    ocean island bridge road train plane boat ship wheel clock phone bottle glass cup
    plate spoon fork knife pencil book letter card gift box bag hat coat shoe sock
    shirt dress ring bell drum flute piano song dance smile laugh dream night day
    morning summer winter spring autumn snow rain storm wind fire earth moon star sun
    sky hill valley lake beach sand shell fish bird frog snake duck goat sheep cow
    bear wolf fox deer rabbit lion king queen child friend doctor farmer baker sailor
    market city village castle tower door floor wall roof key lamp bed pillow
    blanket cake cookie pie soup rice bean corn carrot onion potato tomato melon cherry
    orange banana silver gold iron copper wood rope net basket kettle oven brush comb
    mirror ladder hammer nail saw shovel bucket tent map coin stamp flag kite ball doll
    """.split()
)

#: Word → antonym; both directions are used by the antonym task.
ANTONYMS: tuple[tuple[str, str], ...] = (
    ("hot", "cold"), ("big", "small"), ("fast", "slow"), ("happy", "sad"), ("light", "dark"),
    ("up", "down"), ("open", "closed"), ("early", "late"), ("full", "empty"), ("hard", "soft"),
    ("high", "low"), ("long", "short"), ("old", "young"), ("rich", "poor"), ("strong", "weak"),
    ("wet", "dry"), ("clean", "dirty"), ("loud", "quiet"), ("thick", "thin"), ("sharp", "dull"),
    ("wide", "narrow"), ("deep", "shallow"), ("first", "last"), ("true", "false"), ("win", "lose"),
    ("buy", "sell"), ("push", "pull"), ("give", "take"), ("inside", "outside"), ("day", "night"),
    ("begin", "end"), ("love", "hate"), ("above", "below"), ("always", "never"), ("before", "after"),
    ("friend", "enemy"), ("sweet", "sour"), ("north", "south"), ("east", "west"), ("left", "right"),
)

#: Singular → plural, regular and irregular.
PLURALS: tuple[tuple[str, str], ...] = (
    ("cat", "cats"), ("dog", "dogs"), ("book", "books"), ("tree", "trees"), ("house", "houses"),
    ("apple", "apples"), ("river", "rivers"), ("table", "tables"), ("bird", "birds"), ("song", "songs"),
    ("box", "boxes"), ("bus", "buses"), ("glass", "glasses"), ("dish", "dishes"), ("church", "churches"),
    ("fox", "foxes"), ("brush", "brushes"), ("watch", "watches"), ("city", "cities"), ("baby", "babies"),
    ("party", "parties"), ("story", "stories"), ("berry", "berries"), ("lady", "ladies"), ("fly", "flies"),
    ("man", "men"), ("woman", "women"), ("child", "children"), ("mouse", "mice"), ("foot", "feet"),
    ("tooth", "teeth"), ("goose", "geese"), ("leaf", "leaves"), ("knife", "knives"), ("wolf", "wolves"),
    ("shelf", "shelves"), ("sheep", "sheep"), ("fish", "fish"), ("deer", "deer"), ("person", "people"),
    ("key", "keys"), ("toy", "toys"), ("day", "days"), ("boy", "boys"), ("hero", "heroes"),
    ("potato", "potatoes"), ("tomato", "tomatoes"), ("ox", "oxen"), ("wife", "wives"), ("life", "lives"),
)

#: Verb → simple past tense, regular and irregular.
PAST_TENSES: tuple[tuple[str, str], ...] = (
    ("walk", "walked"), ("play", "played"), ("jump", "jumped"), ("talk", "talked"), ("cook", "cooked"),
    ("open", "opened"), ("clean", "cleaned"), ("paint", "painted"), ("rain", "rained"), ("help", "helped"),
    ("dance", "danced"), ("smile", "smiled"), ("live", "lived"), ("move", "moved"), ("love", "loved"),
    ("stop", "stopped"), ("plan", "planned"), ("drop", "dropped"), ("carry", "carried"), ("cry", "cried"),
    ("try", "tried"), ("study", "studied"), ("go", "went"), ("see", "saw"), ("eat", "ate"),
    ("take", "took"), ("give", "gave"), ("come", "came"), ("run", "ran"), ("swim", "swam"),
    ("sing", "sang"), ("drink", "drank"), ("write", "wrote"), ("ride", "rode"), ("speak", "spoke"),
    ("break", "broke"), ("buy", "bought"), ("think", "thought"), ("bring", "brought"), ("teach", "taught"),
    ("catch", "caught"), ("sleep", "slept"), ("keep", "kept"), ("feel", "felt"), ("leave", "left"),
    ("make", "made"), ("find", "found"), ("sit", "sat"), ("win", "won"), ("tell", "told"),
)

#: Adjective → (comparative, superlative).
COMPARISONS: tuple[tuple[str, str, str], ...] = (
    ("big", "bigger", "biggest"), ("small", "smaller", "smallest"), ("fast", "faster", "fastest"),
    ("slow", "slower", "slowest"), ("tall", "taller", "tallest"), ("short", "shorter", "shortest"),
    ("old", "older", "oldest"), ("young", "younger", "youngest"), ("hot", "hotter", "hottest"),
    ("cold", "colder", "coldest"), ("long", "longer", "longest"), ("strong", "stronger", "strongest"),
    ("happy", "happier", "happiest"), ("easy", "easier", "easiest"), ("funny", "funnier", "funniest"),
    ("busy", "busier", "busiest"), ("early", "earlier", "earliest"), ("heavy", "heavier", "heaviest"),
    ("good", "better", "best"), ("bad", "worse", "worst"), ("far", "farther", "farthest"),
    ("wide", "wider", "widest"), ("large", "larger", "largest"), ("nice", "nicer", "nicest"),
    ("safe", "safer", "safest"), ("thin", "thinner", "thinnest"), ("wet", "wetter", "wettest"),
    ("sad", "sadder", "saddest"), ("kind", "kinder", "kindest"), ("dark", "darker", "darkest"),
    ("bright", "brighter", "brightest"), ("clean", "cleaner", "cleanest"), ("cheap", "cheaper", "cheapest"),
    ("deep", "deeper", "deepest"), ("high", "higher", "highest"), ("low", "lower", "lowest"),
)

#: Category label → member words, for word categorization.
WORD_CATEGORIES: dict[str, tuple[str, ...]] = {
    "fruit": ("apple", "banana", "cherry", "grape", "lemon", "mango", "peach", "pear", "plum", "melon", "fig", "kiwi"),
    "animal": ("horse", "tiger", "rabbit", "wolf", "sheep", "goat", "zebra", "camel", "otter", "mouse", "lion", "bear"),
    "color": ("red", "blue", "green", "yellow", "purple", "brown", "pink", "black", "white", "gray", "violet", "beige"),
    "tool": ("hammer", "saw", "drill", "wrench", "shovel", "rake", "chisel", "pliers", "axe", "ladder", "file",
             "spade"),
    "vehicle": ("car", "bus", "truck", "train", "boat", "plane", "bicycle", "tram", "ship", "taxi", "van", "scooter"),
}

#: Part-of-speech label → unambiguous member words.
PARTS_OF_SPEECH: dict[str, tuple[str, ...]] = {
    "noun": ("table", "garden", "window", "river", "teacher", "pencil", "mountain", "kitchen", "bottle", "forest",
             "castle", "doctor", "basket", "island", "village", "candle"),
    "verb": ("run", "jump", "write", "swim", "listen", "carry", "build", "forget", "arrive", "explain",
             "borrow", "whisper", "climb", "throw", "decide", "wander"),
    "adjective": ("happy", "tall", "bright", "quiet", "heavy", "gentle", "angry", "narrow", "famous", "brave",
                  "empty", "tiny", "polite", "curious", "rapid", "shiny"),
}

POSITIVE_WORDS: tuple[str, ...] = (
    "good", "great", "wonderful", "excellent", "lovely", "pleasant", "delightful", "amazing", "fantastic",
    "superb", "charming", "tasty", "friendly", "beautiful", "perfect", "brilliant", "cheerful", "fresh",
)
NEGATIVE_WORDS: tuple[str, ...] = (
    "bad", "terrible", "awful", "horrible", "boring", "dreadful", "poor", "nasty", "rude", "dirty",
    "disappointing", "unpleasant", "stale", "noisy", "broken", "ugly", "bland", "gloomy",
)
#: Things a review sentence can be about.
REVIEW_SUBJECTS: tuple[str, ...] = (
    "movie", "food", "hotel", "service", "book", "concert", "room", "staff", "trip", "game", "show", "coffee",
    "music", "weather", "park", "meal", "story", "shop", "beach", "class",
)

DAYS: tuple[str, ...] = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS: tuple[str, ...] = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December",
)

_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def number_words(n: int) -> str:
    """English words for 0 <= n <= 99, e.g. ``42`` → ``forty-two``."""
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] if ones == 0 else f"{_TENS[tens]}-{_ONES[ones]}"
