import { serviceColor } from '../lib/trace-search';

/** A service's name with its colour (the same on every page), and optionally its span count. */
export function ServiceChip({ name, count }: { name: string; count?: number }) {
  return (
    <span className="chip service-chip" title={count === undefined ? name : `${name}: ${count} spans`}>
      <span className="swatch" style={{ background: serviceColor(name) }} aria-hidden="true" />
      {name}
      {count !== undefined && <span className="subtle"> {count}</span>}
    </span>
  );
}
