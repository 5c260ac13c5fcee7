import { Link } from '@tanstack/react-router';

export function NotFound() {
  return (
    <div className="page">
      <div className="state">
        <div className="state-title">Nothing here</div>
        <p>
          This page does not exist. <Link to="/agents">Go to the agents</Link>.
        </p>
      </div>
    </div>
  );
}
