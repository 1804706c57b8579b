"""Word lists the demo world is made of: genres with their own title words, names, studios."""

from __future__ import annotations

# Each genre has its own words, so titles hint at their genre the way real ones do.
FILM_GENRES: dict[str, tuple[list[str], list[str]]] = {
    # genre: (adjectives, nouns)
    "Action": (
        ["Iron", "Burning", "Final", "Steel", "Rogue", "Silent", "Fast", "Broken"],
        ["Strike", "Protocol", "Vengeance", "Target", "Getaway", "Fury", "Ambush", "Line"],
    ),
    "Comedy": (
        ["Accidental", "Terrible", "Lucky", "Awkward", "Big", "Perfect", "Wrong", "Little"],
        ["Wedding", "Holiday", "Neighbours", "Weekend", "Roommate", "Reunion", "Plan", "Job"],
    ),
    "Drama": (
        ["Quiet", "Distant", "Bitter", "Long", "Last", "Winter", "Open", "Hidden"],
        ["Harbour", "Letters", "Inheritance", "Years", "River", "Promise", "House", "Season"],
    ),
    "Horror": (
        ["Hollow", "Crimson", "Rotten", "Pale", "Howling", "Buried", "Dead", "Black"],
        ["Cellar", "Woods", "Chapel", "Whispers", "Mask", "Ritual", "Marsh", "Doll"],
    ),
    "Science Fiction": (
        ["Distant", "Quantum", "Orbital", "Silent", "Red", "Infinite", "Neon", "Lost"],
        ["Signal", "Colony", "Horizon", "Machine", "Station", "Drift", "Frontier", "Echo"],
    ),
    "Romance": (
        ["Sweet", "Summer", "Secret", "Golden", "Second", "Tender", "Paris", "Late"],
        ["Kiss", "Letters", "Promise", "Heart", "Affair", "Waltz", "Serenade", "Vow"],
    ),
    "Thriller": (
        ["Cold", "Blind", "Deadly", "Missing", "Twelfth", "Double", "Locked", "Night"],
        ["Witness", "Alibi", "Trace", "Cipher", "Suspect", "Verdict", "Room", "Ransom"],
    ),
    "Animation": (
        ["Brave", "Tiny", "Magic", "Flying", "Clever", "Happy", "Wandering", "Starry"],
        ["Fox", "Kingdom", "Robot", "Lantern", "Dragon", "Island", "Balloon", "Garden"],
    ),
}

MUSIC_GENRES: dict[str, tuple[list[str], list[str]]] = {
    "Rock": (
        ["Loud", "Electric", "Rusty", "Wild", "Broken", "Highway", "Heavy", "Restless"],
        ["Engines", "Rebels", "Thunder", "Roads", "Bones", "Riot", "Amplifiers", "Nights"],
    ),
    "Electronic": (
        ["Digital", "Neon", "Binary", "Pulse", "Synthetic", "Laser", "Modular", "Hyper"],
        ["Circuits", "Waves", "Signals", "Grid", "Frequencies", "Static", "Voltage", "Loops"],
    ),
    "Jazz": (
        ["Blue", "Smoky", "Velvet", "Late", "Cool", "Midnight", "Swinging", "Mellow"],
        ["Notes", "Corners", "Quartet", "Avenue", "Standards", "Lounge", "Reeds", "Hours"],
    ),
    "Hip-Hop": (
        ["Golden", "Street", "Bold", "Concrete", "Fresh", "Heavy", "Real", "Gritty"],
        ["Rhymes", "Blocks", "Beats", "Crowns", "Verses", "Hustle", "Cyphers", "Skyline"],
    ),
    "Classical": (
        ["Grand", "Pastoral", "Solemn", "Minor", "Eternal", "Royal", "Gentle", "Baroque"],
        ["Sonatas", "Nocturnes", "Preludes", "Variations", "Requiem", "Etudes", "Suites", "Hymns"],
    ),
    "Folk": (
        ["Wooden", "Old", "Northern", "Rambling", "Simple", "Hillside", "Quiet", "Country"],
        ["Ballads", "Fields", "Hollows", "Lanterns", "Rivers", "Songs", "Meadows", "Roots"],
    ),
    "Pop": (
        ["Sugar", "Bright", "Shiny", "Candy", "Golden", "Sunny", "Glitter", "Happy"],
        ["Hearts", "Dreams", "Stars", "Kisses", "Lights", "Summers", "Crushes", "Parades"],
    ),
    "Metal": (
        ["Iron", "Black", "Savage", "Infernal", "Molten", "Grim", "Doom", "Brutal"],
        ["Serpents", "Skulls", "Throne", "Abyss", "Hammers", "Wolves", "Chains", "Storms"],
    ),
}

GAME_GENRES: dict[str, tuple[list[str], list[str]]] = {
    "Action": (
        ["Savage", "Rapid", "Blazing", "Total", "Shadow", "Rogue", "Hyper", "Lethal"],
        ["Assault", "Outlaws", "Rampage", "Breakout", "Overdrive", "Siege", "Vanguard", "Havoc"],
    ),
    "Role-playing": (
        ["Ancient", "Forgotten", "Sacred", "Elder", "Shattered", "Eternal", "Fallen", "Arcane"],
        ["Realms", "Crown", "Chronicles", "Legacy", "Sword", "Oath", "Tales", "Prophecy"],
    ),
    "Strategy": (
        ["Imperial", "Total", "Grand", "Northern", "Iron", "Civil", "Clever", "Endless"],
        ["Empires", "Conquest", "Dominion", "Tactics", "Frontiers", "Command", "Nations", "Siege"],
    ),
    "Puzzle": (
        ["Tiny", "Curious", "Clever", "Folded", "Bright", "Twisted", "Quiet", "Hidden"],
        ["Blocks", "Tiles", "Mirrors", "Gears", "Shapes", "Riddles", "Knots", "Locks"],
    ),
    "Platformer": (
        ["Jumping", "Super", "Bouncy", "Little", "Rocket", "Wobbly", "Pixel", "Speedy"],
        ["Hero", "Islands", "Leap", "Dash", "Adventure", "Climb", "Bunny", "World"],
    ),
    "Racing": (
        ["Turbo", "Nitro", "Apex", "Drift", "Midnight", "Rally", "Full", "Grand"],
        ["Circuit", "Speedway", "Racers", "Motors", "Drift", "Throttle", "Highway", "Prix"],
    ),
    "Simulation": (
        ["Happy", "Sunny", "Busy", "Little", "Modern", "Green", "Coastal", "Pocket"],
        ["Farm", "Town", "Airport", "Hospital", "Railway", "Kitchen", "Zoo", "Harbour"],
    ),
    "Survival Horror": (
        ["Dead", "Silent", "Rotting", "Forsaken", "Cursed", "Dark", "Lost", "Fading"],
        ["Asylum", "Outbreak", "Hollow", "Manor", "Ward", "Bunker", "Remains", "Quarantine"],
    ),
}

GENRES_BY_KIND = {"film": FILM_GENRES, "music": MUSIC_GENRES, "game": GAME_GENRES}

FIRST_NAMES = [
    "Ava", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Isla", "Jonas",
    "Kiara", "Liam", "Maya", "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tara",
    "Umar", "Vera", "Wei", "Ximena", "Yusuf", "Zoe", "Aiko", "Bruno", "Carmen", "Dario",
    "Esme", "Felix", "Greta", "Hana", "Ivan", "Jade", "Kofi", "Lena", "Marco", "Nina",
]  # fmt: skip
LAST_NAMES = [
    "Moreno", "Okafor", "Lindqvist", "Tanaka", "Novak", "Haddad", "Fischer", "Rossi",
    "Campbell", "Kowalski", "Silva", "Nguyen", "Byrne", "Duarte", "Petrov", "Mensah",
    "Larsen", "Kaur", "Dubois", "Ortega", "Ivanova", "Schmidt", "Costa", "Ahmed",
]  # fmt: skip

FILM_PLACES = ["Harbour", "Valley", "City", "Station", "Frontier", "Island", "Road", "Tower"]
SEQUEL_SUFFIXES = ["", " II", " III", ": Reckoning", ": Legacy", " IV"]

GAME_SUBTITLES = [
    "Origins", "Reborn", "Unleashed", "Remastered", "Definitive Edition", "Ascension",
    "Directors Cut", "Gold", "Awakening", "Tournament",
]  # fmt: skip
PLATFORMS = [
    "PC", "PlayStation 5", "PlayStation 4", "Xbox Series X|S", "Nintendo Switch", "Steam Deck",
]  # fmt: skip
STUDIO_WORDS = (
    ["Northlight", "Brass", "Lantern", "Bluefin", "Cobalt", "Pinecone", "Harbor", "Redshift",
     "Paper", "Quiet", "Moonpool", "Tidal"],
    ["Games", "Studios", "Interactive", "Works", "Entertainment", "Softworks"],
)  # fmt: skip
PUBLISHERS = [
    "Grand Arcade Publishing", "Polaris Interactive", "Meridian Games", "Kestrel Digital",
    "Atlas Play", "Silverline Entertainment",
]  # fmt: skip

TRACK_WORDS = [
    "Morning", "Falling", "Shadows", "Home", "Fire", "Letters", "Glass", "Rain", "Runaway",
    "Echoes", "Gravity", "Sundown", "Static", "Paper", "Ocean", "Heartbeat", "Satellite",
    "Dust", "Lullaby", "Tides", "Ghosts", "Mirrors", "Velvet", "Wildfire", "Horizon", "Alone",
]  # fmt: skip
TRACK_PATTERNS = [
    "{a}", "{a} {b}", "The {a}", "{a} and {b}", "{a} Again", "Into the {a}", "{a} (Interlude)",
    "No More {a}", "{a} in {b}",
]  # fmt: skip
