// Package conduit is the data layer of the RealWorld "Conduit" domain: the bun models of
// users, follows, articles, tags, favorites and comments, and the queries that are specific
// to them (lookups by natural key, the article listing and feed, the comment thread).
//
// Generic operations (find by id, create, update, delete, paginate) come from
// libs/data/repository; every method here takes a bun.IDB so services can compose them in one
// transaction. Read models (ArticleView, CommentView, ProfileView) carry what the API shows for
// a given viewer, assembled in a fixed number of queries whatever the page size.
package conduit
