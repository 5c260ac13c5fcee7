// Runs inside a vm context of its own (see scenario.mjs), the way sandboxes and test runners run code.
function middleware(request) {
  const path = request.path;
  return path.toUpperCase(); // @middleware
}
