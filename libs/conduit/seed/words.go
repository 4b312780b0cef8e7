package seed

var (
	firstNames = []string{"Ada", "Alan", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Rob",
		"Radia", "Edsger", "Hedy", "John", "Katherine", "Niklaus", "Sophie", "Tim", "Yukihiro", "Zoë"}
	lastNames = []string{"Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie",
		"Allen", "Pike", "Perlman", "Dijkstra", "Lamarr", "McCarthy", "Johnson", "Wirth", "Wilson", "Berners-Lee", "Matsumoto", "Müller"}
	bios = []string{"writes about distributed systems.", "likes small tools that do one thing well.",
		"is learning Go one benchmark at a time.", "builds things for the web.", "", "thinks in queues.",
		"reviews code for fun.", "collects keyboards."}
	titleStarts = []string{"How to", "Why you should", "Ten ways to", "A gentle guide to", "Stop trying to",
		"What I learned when I tried to", "The hidden cost of trying to", "Notes on how to"}
	titleTopics = []string{"train your dragon", "profile a Go service", "design a REST API", "tune PostgreSQL",
		"cache with Redis", "write a worker pool", "ship on Fridays", "test with real databases",
		"read a flame graph", "batch database writes", "name your packages", "survive on-call"}
	titleEnds    = []string{"in 2026", "without tears", "the hard way", "in production", "at scale", "on a budget", "for beginners", ""}
	descriptions = []string{"Ever wonder how?", "A practical walk-through.", "Lessons from a year in production.",
		"Short answer: measure first.", "Everything I wish I had known earlier.", "With benchmarks."}
	paragraphs = []string{
		"Start by measuring. A number you did not measure is a guess, and guesses make poor foundations for a design.",
		"Keep the hot path boring: fewer allocations, fewer locks, fewer surprises. Clever code is harder to profile.",
		"Batch the writes. One round trip carrying five hundred rows beats five hundred round trips every time.",
		"Context flows down, errors flow up, and every goroutine has an owner who knows how to stop it.",
		"Indexes are a promise about the queries you will run. Write the queries first, then keep the promise.",
		"Test against the real database. A mock agrees with whatever you believed when you wrote it.",
		"Very carefully. Dragons, like production systems, remember how they were treated.",
		"The fastest request is the one you do not make: cache what is read often and changes rarely.",
	}
	tagNames = []string{"go", "performance", "databases", "postgresql", "sqlite", "redis", "testing", "api",
		"dragons", "training", "concurrency", "observability", "devops", "career", "architecture", "security",
		"web", "benchmarks", "caching", "queues"}
)
