// Runs inside a vm context of its own (see scenario.mjs), the way sandboxes and test runners run code.
// eslint-disable-next-line no-unused-vars -- called by the host through the vm context
function middleware(request) {
  const path = request.path;
  return path.toUpperCase(); // @middleware
}
