package postgres

// Migrations is the embedded migrations folder, for tests that migrate
// step by step.
var Migrations = migrations
