// Package auth issues and verifies the API's access tokens (HS256 JWTs carrying the user id,
// with an expiry) and hashes passwords with bcrypt.
//
// Verification accepts only HS256 and requires an expiry, so a token signed with another key,
// re-signed with "alg": "none", or past its expiry is rejected the same way: Unauthorized.
package auth
