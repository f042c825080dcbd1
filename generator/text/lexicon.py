"""Every word the captions and prompts are made of.

Only data and plain look-ups live here; drawing happens in :mod:`generator.text.scene` and
:mod:`generator.text.captions`. All collections are tuples or insertion-ordered dicts, so walking
them gives the same order on every run (never a ``set`` of strings).

Spelling follows American newswire style (the datelines are AP style). Phrases avoid hyphens and
slashes where possible because HAMMER's tokenizer splits on them; the one deliberate exception
("a one-act play") keeps the span code honest.

Tags say what a role, event or realistic backdrop is about. A realistic backdrop is drawn only
when its tags meet the role's or the event's tags; events tagged ``general`` fit any role.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from generator.text.grammar import with_article

__all__ = [
    "ABSURD_FAMILY_WEIGHTS",
    "AFFECT_PAIRS",
    "DETAILS_BY_TAG",
    "EVENTS",
    "LIGHTING",
    "REALISTIC_BACKDROPS",
    "ROLES",
    "SWAP_ACTIONS",
    "SWAP_PLACES",
    "SWAP_SUBJECTS",
    "TAGS",
    "Backdrop",
    "Event",
    "Role",
    "absurd_backdrop_families",
    "absurd_backdrops",
    "clause_backdrops",
]

#: Every tag a role, event or realistic backdrop may carry ("general" only on events).
TAGS = (
    "agriculture",
    "business",
    "civic",
    "culture",
    "diplomacy",
    "education",
    "emergency",
    "energy",
    "environment",
    "general",
    "health",
    "justice",
    "labour",
    "media",
    "politics",
    "religion",
    "science",
    "security",
    "sport",
    "technology",
    "transport",
)


@dataclass(frozen=True)
class Role:
    key: str
    singular: str
    plural: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Event:
    key: str
    third: str  # agrees with one person: "addresses reporters"
    base: str  # agrees with two or three: "address reporters"
    ing: str  # for prompts: "addressing reporters"
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Backdrop:
    prep: str
    phrase: str
    tags: tuple[str, ...]


def _roles(rows: str) -> dict[str, Role]:
    """Parse ``singular | plural | tag tag`` lines; the key is the singular noun."""
    out: dict[str, Role] = {}
    for line in rows.strip().splitlines():
        singular, plural, tags = (part.strip() for part in line.split("|"))
        out[singular] = Role(singular, singular, plural, tuple(tags.split()))
    return out


def _events(rows: str) -> dict[str, Event]:
    """Parse ``base third ing | rest of the phrase | tag tag`` lines.

    The first field holds the three forms of the leading verb ("hold holds holding"); the rest
    of the phrase is shared ("a briefing"). The key is the base phrase with underscores.
    """
    out: dict[str, Event] = {}
    for line in rows.strip().splitlines():
        verbs, rest, tags = (part.strip() for part in line.split("|"))
        base, third, ing = verbs.split()
        key = f"{base} {rest}".replace(" ", "_")
        forms = (f"{third} {rest}", f"{base} {rest}", f"{ing} {rest}")
        out[key] = Event(key, *forms, tuple(tags.split()))
    return out


def _backdrops(rows: str) -> tuple[Backdrop, ...]:
    """Parse ``prep | phrase | tag tag`` lines."""
    out = []
    for line in rows.strip().splitlines():
        prep, phrase, tags = (part.strip() for part in line.split("|"))
        out.append(Backdrop(prep, phrase, tuple(tags.split())))
    return tuple(out)


def _pairs(rows: str) -> tuple[tuple[str, str], ...]:
    out = []
    for line in rows.strip().splitlines():
        left, right = (part.strip() for part in line.split("|"))
        out.append((left, right))
    return tuple(out)


def _lines(rows: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in rows.strip().splitlines())


# --------------------------------------------------------------------------------------------
# Roles: the people in the picture.
# --------------------------------------------------------------------------------------------
ROLES: dict[str, Role] = _roles(
    """
    senator | senators | politics
    mayor | mayors | politics civic
    governor | governors | politics
    council member | council members | politics civic
    cabinet minister | cabinet ministers | politics
    prime minister | prime ministers | politics diplomacy
    opposition leader | opposition leaders | politics
    campaign volunteer | campaign volunteers | politics civic
    state legislator | state legislators | politics justice
    election official | election officials | politics civic
    European trade commissioner | European trade commissioners | politics business diplomacy
    diplomat | diplomats | diplomacy
    ambassador | ambassadors | diplomacy politics
    honorary consul | honorary consuls | diplomacy
    peace envoy | peace envoys | diplomacy security
    nurse | nurses | health
    surgeon | surgeons | health
    paramedic | paramedics | health emergency
    pharmacist | pharmacists | health business
    midwife | midwives | health
    family doctor | family doctors | health
    hospital administrator | hospital administrators | health business
    dentist | dentists | health
    physical therapist | physical therapists | health sport
    health inspector | health inspectors | health civic
    epidemiologist | epidemiologists | health science
    veterinarian | veterinarians | health agriculture
    teacher | teachers | education
    school principal | school principals | education
    university lecturer | university lecturers | education science
    student | students | education
    librarian | librarians | education culture
    kindergarten teacher | kindergarten teachers | education
    school counselor | school counselors | education health
    bus driver | bus drivers | transport labour
    train conductor | train conductors | transport
    airline pilot | airline pilots | transport
    air traffic controller | air traffic controllers | transport technology
    truck driver | truck drivers | transport labour
    taxi driver | taxi drivers | transport
    railway engineer | railway engineers | transport technology
    port official | port officials | transport business
    referee | referees | sport
    football coach | football coaches | sport
    sprinter | sprinters | sport
    tennis player | tennis players | sport
    goalkeeper | goalkeepers | sport
    boxer | boxers | sport
    cyclist | cyclists | sport transport
    umpire | umpires | sport justice
    Olympic swimmer | Olympic swimmers | sport
    marathon runner | marathon runners | sport
    team captain | team captains | sport
    gymnast | gymnasts | sport
    astronaut | astronauts | science technology
    climate scientist | climate scientists | science environment
    marine biologist | marine biologists | science environment
    chemist | chemists | science
    astronomer | astronomers | science
    geologist | geologists | science environment energy
    engineer | engineers | science technology energy
    lab technician | lab technicians | science health
    robotics researcher | robotics researchers | science technology
    museum curator | museum curators | culture
    orchestra conductor | orchestra conductors | culture
    novelist | novelists | culture
    film director | film directors | culture media
    actor | actors | culture media
    opera singer | opera singers | culture
    ballet dancer | ballet dancers | culture
    photographer | photographers | culture media
    architect | architects | culture business
    chief executive | chief executives | business
    economist | economists | business politics
    banker | bankers | business
    factory manager | factory managers | business labour
    entrepreneur | entrepreneurs | business technology
    investor | investors | business
    accountant | accountants | business
    shopkeeper | shopkeepers | business civic
    real estate agent | real estate agents | business
    farmer | farmers | agriculture
    rancher | ranchers | agriculture
    agronomist | agronomists | agriculture science
    dairy farmer | dairy farmers | agriculture
    grain trader | grain traders | agriculture business
    fisheries inspector | fisheries inspectors | agriculture environment
    judge | judges | justice
    lawyer | lawyers | justice
    prosecutor | prosecutors | justice
    police officer | police officers | justice security
    detective | detectives | justice security
    court clerk | court clerks | justice
    public defender | public defenders | justice
    prison warden | prison wardens | justice security
    firefighter | firefighters | emergency
    rescue worker | rescue workers | emergency
    coast guard officer | coast guard officers | emergency security transport
    disaster relief coordinator | disaster relief coordinators | emergency civic
    search and rescue volunteer | search and rescue volunteers | emergency civic
    priest | priests | religion
    imam | imams | religion
    rabbi | rabbis | religion
    bishop | bishops | religion
    monk | monks | religion
    nun | nuns | religion
    pastor | pastors | religion civic
    chaplain | chaplains | religion health
    union organizer | union organizers | labour politics
    factory worker | factory workers | labour business
    construction worker | construction workers | labour
    dock worker | dock workers | labour transport
    coal miner | coal miners | labour energy
    garment worker | garment workers | labour business
    park ranger | park rangers | environment security
    conservationist | conservationists | environment
    forester | foresters | environment agriculture
    environmental activist | environmental activists | environment politics
    wildlife biologist | wildlife biologists | environment science
    journalist | journalists | media
    news anchor | news anchors | media
    press secretary | press secretaries | media politics
    radio host | radio hosts | media culture
    software developer | software developers | technology
    data scientist | data scientists | technology science
    cybersecurity analyst | cybersecurity analysts | technology security
    wind turbine technician | wind turbine technicians | energy labour
    oil rig worker | oil rig workers | energy labour
    power plant operator | power plant operators | energy
    soldier | soldiers | security
    peacekeeper | peacekeepers | security diplomacy
    border guard | border guards | security transport
    social worker | social workers | civic health
    community organizer | community organizers | civic politics
    postal worker | postal workers | civic labour
    city planner | city planners | civic transport
    aid worker | aid workers | emergency civic
    """
)

# --------------------------------------------------------------------------------------------
# Events: newsworthy actions, in three forms. None ends on a preposition or names a place, so
# the backdrop clause can follow directly.
# --------------------------------------------------------------------------------------------
EVENTS: dict[str, Event] = _events(
    """
    address addresses addressing | reporters | general media
    hold holds holding | a briefing | general media
    pose poses posing | for photographers | general media
    wave waves waving | to supporters | general politics
    greet greets greeting | visitors | general civic
    speak speaks speaking | with residents | general civic
    answer answers answering | questions from the press | general media
    give gives giving | an interview | general media
    announce announces announcing | a new initiative | general
    deliver delivers delivering | a statement | general
    meet meets meeting | community leaders | general civic
    attend attends attending | a memorial ceremony | general
    listen listens listening | to local concerns | general civic
    shake shakes shaking | hands with delegates | general diplomacy
    accept accepts accepting | an award | general culture
    observe observes observing | a moment of silence | general
    launch launches launching | a fundraising appeal | general civic
    cut cuts cutting | a ceremonial ribbon | general
    lay lays laying | a wreath | general
    mark marks marking | an anniversary | general
    treat treats treating | patients | health
    administer administers administering | vaccines | health
    check checks checking | on recovering patients | health
    demonstrate demonstrates demonstrating | new medical equipment | health technology
    brief briefs briefing | staff on infection control | health
    teach teaches teaching | a lesson | education
    hand hands handing | out diplomas | education
    read reads reading | to children | education culture
    welcome welcomes welcoming | new students | education
    take takes taking | questions from students | education science
    inspect inspects inspecting | a new train | transport
    unveil unveils unveiling | an electric bus | transport energy
    check checks checking | safety equipment | transport emergency labour energy
    open opens opening | a new bridge | transport civic
    direct directs directing | traffic | transport security
    cast casts casting | a ballot | politics civic
    sign signs signing | a new law | politics justice
    campaign campaigns campaigning | for votes | politics
    debate debates debating | a budget proposal | politics business
    concede concedes conceding | an election | politics
    rally rallies rallying | supporters | politics labour
    celebrate celebrates celebrating | a victory | sport politics
    lift lifts lifting | a trophy | sport
    warm warms warming | up before a match | sport
    sign signs signing | autographs for fans | sport culture
    review reviews reviewing | a disputed call | sport justice
    train trains training | for a championship | sport
    present presents presenting | new research findings | science education
    examine examines examining | rock samples | science environment
    calibrate calibrates calibrating | an instrument | science technology
    collect collects collecting | water samples | science environment
    unveil unveils unveiling | a prototype | science technology business
    open opens opening | an exhibition | culture
    rehearse rehearses rehearsing | for a premiere | culture
    perform performs performing | for an audience | culture religion
    record records recording | a broadcast | media culture
    sign signs signing | a merger agreement | business
    present presents presenting | quarterly results | business
    tour tours touring | a production line | business labour technology
    negotiate negotiates negotiating | a contract | business labour sport
    open opens opening | a new branch | business
    inspect inspects inspecting | the harvest | agriculture
    tend tends tending | to livestock | agriculture health
    survey surveys surveying | crop damage | agriculture emergency environment
    deliver delivers delivering | a verdict | justice
    question questions questioning | a witness | justice
    file files filing | an appeal | justice
    announce announces announcing | new charges | justice security
    coordinate coordinates coordinating | a rescue | emergency security
    hand hands handing | out emergency supplies | emergency civic
    clear clears clearing | storm debris | emergency labour environment
    assess assesses assessing | flood damage | emergency environment agriculture
    evacuate evacuates evacuating | residents | emergency security
    lead leads leading | a prayer service | religion
    bless blesses blessing | the congregation | religion
    lead leads leading | a candlelight vigil | religion civic
    distribute distributes distributing | food parcels | civic religion emergency
    join joins joining | a strike | labour
    call calls calling | for higher wages | labour politics
    hold holds holding | a union meeting | labour
    march marches marching | for fair pay | labour politics
    plant plants planting | tree saplings | environment agriculture
    measure measures measuring | air quality | environment science health
    monitor monitors monitoring | wildlife | environment science
    clean cleans cleaning | up plastic waste | environment civic
    sign signs signing | a treaty | diplomacy politics
    hold holds holding | talks | diplomacy politics business labour
    exchange exchanges exchanging | gifts with a delegation | diplomacy
    demonstrate demonstrates demonstrating | a robot | technology science
    test tests testing | a delivery drone | technology transport
    inspect inspects inspecting | solar panels | energy environment
    switch switches switching | on a new turbine | energy
    conduct conducts conducting | a security drill | security emergency
    patrol patrols patrolling | the perimeter | security
    """
)

# --------------------------------------------------------------------------------------------
# Realistic backdrops (used when a scene is not misplaced): where such people are photographed.
# --------------------------------------------------------------------------------------------
REALISTIC_BACKDROPS: tuple[Backdrop, ...] = _backdrops(
    """
    at | a rural health clinic | health
    in | a busy hospital ward | health
    outside | a hospital emergency entrance | health emergency
    in | a primary school classroom | education
    in | a university lecture hall | education science
    in | a school library | education culture
    at | a busy train station | transport
    on | an airport apron | transport
    at | a city bus depot | transport labour
    at | a container port | transport business labour
    outside | a parliament building | politics
    in | a city council chamber | politics civic
    at | a polling station | politics civic
    at | a campaign rally | politics
    at | an embassy reception | diplomacy
    at | a summit venue | diplomacy politics
    at | a packed football stadium | sport
    beside | an athletics track | sport
    at | an indoor sports arena | sport
    in | a research laboratory | science health technology
    at | a mountaintop observatory | science
    at | a field research station | science environment
    in | a museum gallery | culture
    on | a concert stage | culture
    at | an open air festival | culture civic
    on | a factory floor | business labour technology
    in | a corporate boardroom | business
    at | a trade fair | business technology
    in | a wheat field | agriculture
    at | a livestock market | agriculture business
    on | a dairy farm | agriculture
    outside | a courthouse | justice
    in | a wood paneled courtroom | justice
    at | a police station | justice security
    at | a flood relief camp | emergency civic
    at | a fire station | emergency
    at | an emergency shelter | emergency civic
    outside | a cathedral | religion
    in | a temple courtyard | religion
    in | a village church | religion civic
    at | a union hall | labour
    on | a picket line | labour
    at | a construction site | labour business
    in | a coastal wetland | environment
    at | a recycling plant | environment civic
    in | a national park | environment
    in | a press briefing room | media politics
    in | a television studio | media culture
    in | a data center | technology
    at | a tech startup office | technology business
    at | a wind farm | energy environment
    at | a power station | energy labour
    at | a border crossing | security transport
    at | a military base | security
    in | a town square | civic politics
    at | a community center | civic
    """
)

# --------------------------------------------------------------------------------------------
# Absurd backdrops, built from parts. Five families:
#   A  a <place> <made of> <material>        "a cathedral carved from melting ice cream"
#   B  a <place> <impossible location>       "a subway platform on the surface of the moon"
#   C  a <place> where <impossible clause>   "a courtroom where rain falls upward"
#   D  a <expanse> of <surreal things>       "a corridor of suspended stardust"
#   E  while <motion> <surreal ground>       "while wading through a lake of warm honey"
# Places and expanses are bare nouns; their article is chosen by grammar.with_article.
# --------------------------------------------------------------------------------------------
_ABSURD_PLACES = _pairs(
    """
    in | cathedral
    on | subway platform
    in | courtroom
    in | hospital corridor
    in | school classroom
    at | bus stop
    in | newsroom
    in | parliament chamber
    on | football pitch
    in | chemistry laboratory
    in | train carriage
    in | boardroom
    in | supermarket aisle
    on | city street
    in | town hall
    in | farmhouse kitchen
    in | airport terminal
    in | concert hall
    on | rooftop terrace
    in | waiting room
    in | lecture theater
    in | office lobby
    in | gymnasium
    in | market hall
    in | sculpture gallery
    in | radio studio
    on | suspension bridge
    in | parking garage
    in | stadium tunnel
    on | warehouse floor
    at | border checkpoint
    in | fire station
    in | observatory dome
    on | tennis court
    in | ballroom
    in | embassy garden
    in | opera house
    in | elevator lobby
    """
)

_MADE_OF = _lines(
    """
    carved from
    built entirely from
    made of
    sculpted out of
    woven from
    assembled from
    """
)

_MATERIALS = _lines(
    """
    melting ice cream
    spun sugar
    frozen lightning
    living coral
    soap bubbles
    folded clouds
    glowing jelly
    liquid mercury
    solid rainbow light
    birthday cake
    giant seashells
    crystallized honey
    polished moonstone
    stained glass butterflies
    translucent gelatin
    peppermint candy
    captured moonlight
    floating water droplets
    cotton candy
    molten chocolate
    swirling smoke
    giant marshmallows
    paper cranes
    autumn leaves
    blue flames
    frozen ocean waves
    humming beeswax
    glass feathers
    living ivy
    bubbling lava
    """
)

_IMPOSSIBLE_LOCATIONS = _lines(
    """
    on the surface of the moon
    at the bottom of a goldfish bowl
    inside a giant soap bubble
    on the back of a flying whale
    floating in outer space
    hanging upside down from the clouds
    inside a snow globe
    at the center of an active volcano
    on the rings of Saturn
    deep beneath a frozen ocean
    inside a giant teacup
    on top of a giant mushroom
    inside a spinning kaleidoscope
    perched on a rainbow
    on the surface of Mars
    inside a giant pumpkin
    at the bottom of a swimming pool of lemonade
    on the back of a sleeping dragon
    inside an hourglass
    at the heart of a hurricane
    inside a giant music box
    on the shell of a giant tortoise swimming through space
    inside a melting iceberg
    orbiting Jupiter
    at the edge of a waterfall that flows upward
    inside the belly of a giant whale
    on a floating island above the clouds
    balanced on a single blade of grass
    inside a bottle drifting at sea
    suspended in a giant raindrop
    """
)

_IMPOSSIBLE_CLAUSES = _lines(
    """
    rain falls upward
    the ceiling is an open ocean
    the floor is a starry night sky
    gravity pulls sideways
    trees grow down from the ceiling
    the sun and the moon shine side by side
    goldfish swim through the air
    waterfalls pour up the walls
    giant jellyfish drift overhead
    all the furniture floats in midair
    the walls are made of flowing water
    candles burn underwater
    whales drift past the windows
    the windows open onto deep space
    staircases spiral into the sky
    flowers bloom in midair
    lightning hangs frozen in place
    every surface is covered in living grass
    snow falls from a tiny indoor cloud
    the shadows glow bright pink
    """
)

_EXPANSES = _pairs(
    """
    in | corridor
    in | forest
    in | desert
    in | canyon
    in | valley
    in | tunnel
    on | staircase
    in | meadow
    in | cavern
    in | maze
    on | beach
    on | ocean
    in | field
    on | bridge
    in | garden
    in | city
    """
)

_SURREAL_THINGS = _lines(
    """
    suspended stardust
    giant glass spoons
    powdered sugar
    floating teapots
    stacked teacups
    glowing mushrooms
    frozen fireworks
    breathing marble statues
    upside down waterfalls
    giant pearls
    drifting lanterns
    melting candles
    hovering umbrellas
    singing crystals
    paper moons
    luminous jellyfish
    warm honey
    floating grand pianos
    neon coral
    giant dandelion seeds
    rippling silk
    origami birds
    """
)

# Family E: a motion and what it happens on, in or through (they must fit each other).
_MOTION_GROUNDS = (
    (
        _lines(
            """
            standing on
            walking across
            balancing on
            """
        ),
        _lines(
            """
            a bridge of frozen lightning
            a glacier of blue jelly
            a tightrope of braided rainbows
            a floating staircase of clouds
            the shell of a giant turtle in space
            a cloud of pink cotton candy
            a chessboard floating among the stars
            a giant lily pad in the sky
            the wing of an enormous paper airplane
            a sheet of ice above the sun
            """
        ),
    ),
    (
        _lines(
            """
            wading through
            floating above
            """
        ),
        _lines(
            """
            a lake of warm honey
            a river of liquid starlight
            a sea of melted crayons
            a flood of glowing milk
            a pool of liquid gold
            a stream of rainbow paint
            a bay of bubbling lemonade
            a pond of molten silver
            a marsh of pink custard
            a canal of fizzing soda
            """
        ),
    ),
    (
        _lines(
            """
            drifting through
            tumbling slowly through
            """
        ),
        _lines(
            """
            a storm of paper cranes
            a tunnel of glowing jellyfish
            a sky of upside down mountains
            a nebula of pink smoke
            a blizzard of rose petals
            a swarm of luminous butterflies
            a cloud of floating teacups
            a shower of falling stars
            a galaxy of spinning pearls
            a fog of golden glitter
            """
        ),
    ),
)

#: Relative weights of the families A to E when drawing an absurd backdrop.
ABSURD_FAMILY_WEIGHTS = (0.30, 0.25, 0.20, 0.15, 0.10)


@cache
def absurd_backdrop_families() -> tuple[tuple[tuple[str, str], ...], ...]:
    """The absurd backdrops as five tuples of ``(prep, phrase)``, families A to E in order."""
    made = tuple(
        (prep, f"{with_article(place)} {verb} {material}")
        for prep, place in _ABSURD_PLACES
        for verb in _MADE_OF
        for material in _MATERIALS
    )
    located = tuple(
        (prep, f"{with_article(place)} {where}")
        for prep, place in _ABSURD_PLACES
        for where in _IMPOSSIBLE_LOCATIONS
    )
    ruled = tuple(
        (prep, f"{with_article(place)} where {clause}")
        for prep, place in _ABSURD_PLACES
        for clause in _IMPOSSIBLE_CLAUSES
    )
    expanses = tuple(
        (prep, f"{with_article(expanse)} of {things}")
        for prep, expanse in _EXPANSES
        for things in _SURREAL_THINGS
    )
    moving = tuple(
        ("while", f"{motion} {ground}")
        for motions, grounds in _MOTION_GROUNDS
        for motion in motions
        for ground in grounds
    )
    return (made, located, ruled, expanses, moving)


def _is_clause(location: str) -> bool:
    """A location that reads as a clause of its own ("floating in outer space")."""
    words = location.split()
    return words[0].endswith(("ed", "ing")) or any(w.endswith("ing") or w == "that" for w in words)


@cache
def clause_backdrops() -> frozenset[tuple[str, str]]:
    """Absurd ``(prep, phrase)`` pairs that end in a clause (families B with a participle,
    C and E). An "and appears ..." add-on after them would seem to belong to the clause.
    Only used for membership tests, never iterated.
    """
    made, located, ruled, expanses, moving = absurd_backdrop_families()
    clause_locations = tuple(loc for loc in _IMPOSSIBLE_LOCATIONS if _is_clause(loc))
    picked = [item for item in located if item[1].endswith(clause_locations)]
    return frozenset(picked + list(ruled) + list(moving))


def absurd_backdrops() -> tuple[tuple[str, str], ...]:
    """Every absurd ``(prep, phrase)`` in a fixed order (all families concatenated)."""
    return tuple(item for family in absurd_backdrop_families() for item in family)


# --------------------------------------------------------------------------------------------
# Affect pairs for the text_attribute add-on: the image shows one side, the caption claims the
# other. Every word works after "appears", "looks", "seems" and in a prompt's "looking ...".
# --------------------------------------------------------------------------------------------
AFFECT_PAIRS: tuple[tuple[str, str], ...] = _pairs(
    """
    calm | anxious
    cheerful | gloomy
    relaxed | tense
    confident | uneasy
    relieved | worried
    composed | distraught
    content | frustrated
    hopeful | despondent
    serene | agitated
    upbeat | downcast
    proud | embarrassed
    amused | irritated
    enthusiastic | indifferent
    jubilant | dejected
    focused | distracted
    determined | hesitant
    friendly | hostile
    grateful | resentful
    triumphant | defeated
    optimistic | pessimistic
    excited | bored
    alert | drowsy
    satisfied | disappointed
    reassured | alarmed
    joyful | somber
    energetic | exhausted
    """
)

# --------------------------------------------------------------------------------------------
# Text-swap material: people, actions and places that belong to none of the scenes above.
# --------------------------------------------------------------------------------------------
SWAP_SUBJECTS: tuple[tuple[str, str], ...] = _pairs(
    """
    beekeeper | beekeepers
    lighthouse keeper | lighthouse keepers
    clockmaker | clockmakers
    street juggler | street jugglers
    pastry chef | pastry chefs
    amateur magician | amateur magicians
    glassblower | glassblowers
    puppeteer | puppeteers
    falconer | falconers
    tailor | tailors
    stonemason | stonemasons
    violin maker | violin makers
    origami artist | origami artists
    balloonist | balloonists
    tugboat skipper | tugboat skippers
    ice sculptor | ice sculptors
    sheep shearer | sheep shearers
    mushroom forager | mushroom foragers
    bell ringer | bell ringers
    gondolier | gondoliers
    model train collector | model train collectors
    bonsai gardener | bonsai gardeners
    chimney sweep | chimney sweeps
    florist | florists
    locksmith | locksmiths
    blacksmith | blacksmiths
    cartographer | cartographers
    stamp collector | stamp collectors
    trapeze artist | trapeze artists
    cheesemaker | cheesemakers
    kite enthusiast | kite enthusiasts
    toy maker | toy makers
    hairdresser | hairdressers
    dog walker | dog walkers
    ice cream vendor | ice cream vendors
    organ grinder | organ grinders
    oyster shucker | oyster shuckers
    wedding caterer | wedding caterers
    antique dealer | antique dealers
    yoga instructor | yoga instructors
    piano tuner | piano tuners
    upholsterer | upholsterers
    umbrella repairer | umbrella repairers
    fairground mechanic | fairground mechanics
    window cleaner | window cleaners
    accordionist | accordionists
    """
)

SWAP_ACTIONS: tuple[tuple[str, str], ...] = _pairs(
    """
    repaints a fishing boat | repaint a fishing boat
    sorts a crate of lemons | sort a crate of lemons
    tunes an old piano | tune an old piano
    feeds a flock of pigeons | feed a flock of pigeons
    untangles a kite string | untangle a kite string
    polishes a brass bell | polish a brass bell
    plants tulip bulbs | plant tulip bulbs
    restores a vintage bicycle | restore a vintage bicycle
    rehearses a puppet show | rehearse a puppet show
    bakes sourdough loaves | bake sourdough loaves
    knits a giant scarf | knit a giant scarf
    trims a hedge | trim a hedge
    carves a wooden spoon | carve a wooden spoon
    folds paper swans | fold paper swans
    assembles a model ship | assemble a model ship
    waters potted ferns | water potted ferns
    weighs a prize pumpkin | weigh a prize pumpkin
    launches a toy sailboat | launch a toy sailboat
    stacks firewood | stack firewood
    catalogs seashells | catalog seashells
    brews herbal tea | brew herbal tea
    sharpens kitchen knives | sharpen kitchen knives
    paints a garden fence | paint a garden fence
    mends a fishing net | mend a fishing net
    practices a tap dance routine | practice a tap dance routine
    juggles ripe oranges | juggle ripe oranges
    washes a vintage car | wash a vintage car
    measures a giant zucchini | measure a giant zucchini
    decorates a wedding cake | decorate a wedding cake
    counts migrating geese | count migrating geese
    rakes fallen leaves | rake fallen leaves
    builds a sandcastle | build a sandcastle
    grooms a show poodle | groom a show poodle
    strings a new harp | string a new harp
    sews a patchwork quilt | sew a patchwork quilt
    shells fresh peas | shell fresh peas
    bottles homemade jam | bottle homemade jam
    prunes an apple tree | prune an apple tree
    releases a racing pigeon | release a racing pigeon
    whittles a walking stick | whittle a walking stick
    irons a stack of tablecloths | iron a stack of tablecloths
    refills a bird feeder | refill a bird feeder
    rehearses a one-act play | rehearse a one-act play
    waits an hour for a tram | wait an hour for a tram
    """
)

SWAP_PLACES: tuple[tuple[str, str], ...] = _pairs(
    """
    near | a quiet harbor
    behind | a village bakery
    outside | a laundromat
    at | a county fair
    beside | a duck pond
    in | a community garden
    on | a suburban driveway
    at | a roadside fruit stand
    in | a converted barn
    near | an old windmill
    on | a ferry deck
    at | a flea market
    in | a sunny backyard
    beside | a canal lock
    on | a seaside promenade
    at | a bowling alley
    in | a garden shed
    outside | a public library
    near | a railroad crossing
    at | a lakeside campsite
    on | a rooftop garden
    in | a parish hall
    beside | a mountain stream
    at | a car wash
    in | a botanical greenhouse
    on | a fishing pier
    near | a petting zoo
    at | a miniature golf course
    behind | a noodle shop
    outside | a pet shop
    on | a moored houseboat
    beside | a hillside vineyard
    in | a cobbled village square
    at | an antique fair
    in | an apple orchard
    at | an ice rink
    near | a traffic circle
    beside | a bandstand
    at | a street food market
    in | a hotel lobby
    under | a railroad bridge
    in | an allotment garden
    """
)

# --------------------------------------------------------------------------------------------
# Prompt material.
# --------------------------------------------------------------------------------------------
#: Visual details for a role's tags; each reads after "<people> <doing> <where>, ".
#: Nothing here carries lettering (no books, signs, screens or papers).
DETAILS_BY_TAG: dict[str, tuple[str, ...]] = {
    "agriculture": ("wearing sturdy work boots", "holding a basket of produce", "in a straw hat"),
    "business": ("in tailored business attire", "holding a plain leather folder", "in a dark suit"),
    "civic": ("in everyday clothes", "carrying a canvas tote bag", "in warm casual jackets"),
    "culture": ("in smart evening clothes", "holding a bouquet of flowers", "in a velvet jacket"),
    "diplomacy": ("in formal attire", "holding a small bouquet", "in a dark formal suit"),
    "education": ("carrying a canvas satchel", "in smart casual clothes", "holding colored chalk"),
    "emergency": ("in reflective jackets", "wearing a safety helmet", "carrying a first aid bag"),
    "energy": ("wearing a hard hat", "in insulated work gloves", "in a safety harness"),
    "environment": ("in hiking boots", "carrying binoculars", "with a field backpack"),
    "health": ("in blue medical scrubs", "with a stethoscope around the neck", "in a white coat"),
    "justice": ("in formal dark clothing", "carrying a leather briefcase", "in a dark blazer"),
    "labour": ("wearing a hard hat", "in work overalls", "in a high visibility vest"),
    "media": ("holding a handheld microphone", "with a camera on a strap", "wearing a headset"),
    "politics": ("in a dark suit", "standing near a microphone", "in a formal blazer"),
    "religion": ("in simple ceremonial robes", "holding prayer beads", "holding a lit candle"),
    "science": ("in a white lab coat", "wearing safety goggles", "carrying a sample case"),
    "security": ("in a plain uniform", "wearing a radio earpiece", "in a reflective vest"),
    "sport": ("in a team tracksuit", "in athletic kit", "holding a whistle"),
    "technology": ("holding a small drone", "in a casual hoodie", "wearing clear safety glasses"),
    "transport": ("in a uniform cap", "in a high visibility vest", "wearing work gloves"),
}

LIGHTING: tuple[str, ...] = _lines(
    """
    soft overcast daylight
    warm late afternoon sunlight
    bright midday sun with gentle fill light
    golden hour light
    even diffused daylight
    cool blue hour light with soft flash fill
    bright fluorescent overhead light
    soft window light
    misty morning light
    warm tungsten lamp light
    crisp winter sunlight
    bright even softbox light
    dappled sunlight
    clear morning light
    """
)
