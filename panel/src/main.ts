import './app/yoto-app';
