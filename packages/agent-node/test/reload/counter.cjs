// Loaded again by the scenario (its require.cache entry deleted), the way hot-reload tools and plugin hosts do: two
// scripts then have this file's URL.
exports.hot = function hot(i) {
  const v = i * 2; // @hot
  return v;
};
